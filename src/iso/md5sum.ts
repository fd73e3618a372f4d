// md5sum.txt ("<md5>  ./path", sorted by path; debian-cd tools/make_disc_trees.pl) is used by
// the installer's optional media check. Only the lines of files we changed are rewritten:
// re-hashing a 700 MB image for it would be wasted work.
import { createHash } from 'node:crypto';

export function md5Hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

export function patchMd5sums(original: string, changed: Map<string, string>): string {
  const pending = new Map([...changed].map(([isoPath, md5]) => [`./${isoPath.replace(/^\/+/, '')}`, md5]));
  const lines = original.split('\n');
  const trailingNewline = original.endsWith('\n');
  if (trailingNewline) lines.pop();
  const out = lines.map((line) => {
    const m = /^([0-9a-f]{32}) {2}(.*)$/.exec(line);
    const path = m?.[2];
    if (path === undefined || !pending.has(path)) return line;
    const md5 = pending.get(path)!;
    pending.delete(path);
    return `${md5}  ${path}`;
  });
  for (const [path, md5] of pending) out.push(`${md5}  ${path}`);
  return out.join('\n') + (trailingNewline || out.length ? '\n' : '');
}
