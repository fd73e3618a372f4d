// Reading built ISOs back for assertions, with the real xorriso.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readdir, readFile, readlink, lstat } from 'node:fs/promises';
import { join, relative } from 'node:path';

export async function report(iso: string, kind: 'as_mkisofs' | 'plain'): Promise<string> {
  const args = kind === 'plain' ? ['-report_el_torito', 'plain', '-report_system_area', 'plain'] : ['-report_el_torito', 'as_mkisofs'];
  const { stdout } = await execa('xorriso', ['-indev', iso, ...args], { env: { LC_ALL: 'C' } });
  return stdout;
}

export async function extractAll(iso: string, dir: string): Promise<void> {
  await execa('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', dir]);
}

/** ISO path → sha256 (files) or "-> target" (symlinks), for every entry of an extracted tree. */
export async function treeDigest(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      const rel = `/${relative(dir, full)}`;
      const st = await lstat(full);
      if (st.isSymbolicLink()) out.set(rel, `-> ${await readlink(full)}`);
      else if (st.isDirectory()) await walk(full);
      else out.set(rel, createHash('sha256').update(await readFile(full)).digest('hex'));
    }
  };
  await walk(dir);
  return out;
}
