// The checksum lists at the root of a Debian image ("<hex>  ./path", sorted by path;
// debian-cd tools/make_disc_trees.pl): md5sum.txt, and sha256sum.txt where an image carries
// one. The installer's optional media check reads them. Only the lines of files we changed
// or added are written: re-hashing a 700 MB image for them would be wasted work.
export type ChecksumAlgorithm = 'md5' | 'sha256';

export const CHECKSUM_LISTS: { path: string; algorithm: ChecksumAlgorithm }[] = [
  { path: '/md5sum.txt', algorithm: 'md5' },
  { path: '/sha256sum.txt', algorithm: 'sha256' },
];

/** The "./path" of a "<hex>  ./path" line, if it is one. */
const pathOf = (line: string) => /^[0-9a-f]+ {2}(.*)$/.exec(line)?.[1];

/** `changed` maps ISO paths ("/install.amd/initrd.gz") to their new hex digests; a path the list lacks is added in path order. */
export function patchChecksumList(original: string, changed: Map<string, string>): string {
  const pending = new Map([...changed].map(([isoPath, digest]) => [`./${isoPath.replace(/^\/+/, '')}`, digest]));
  const lines = original.split('\n');
  const trailingNewline = original.endsWith('\n');
  if (trailingNewline) lines.pop();
  const out = lines.map((line) => {
    const path = pathOf(line);
    if (path === undefined || !pending.has(path)) return line;
    const digest = pending.get(path)!;
    pending.delete(path);
    return `${digest}  ${path}`;
  });
  for (const [path, digest] of pending) {
    const at = out.findIndex((line) => (pathOf(line) ?? '') > path);
    out.splice(at < 0 ? out.length : at, 0, `${digest}  ${path}`);
  }
  return out.join('\n') + (trailingNewline || out.length ? '\n' : '');
}
