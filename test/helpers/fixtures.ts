// Stand-in Debian ISOs built from Debian packages by scripts/fixtures/, cached under
// iso/cache/fixtures keyed by the builder's own content (so a changed builder rebuilds).
// The builds are not byte-reproducible, so test/global-setup.ts builds every fixture once,
// before the test files run in parallel: two files must never race to (re)build one.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT as ROOT } from '../../src/paths.js';

const FIXTURE_CACHE = join(ROOT, 'iso/cache/fixtures');

const BUILDER = join(ROOT, 'scripts/fixtures/build-standin-iso.sh');

export async function standinIso(kind: 'netinst' | 'mini', fillerMb = 1): Promise<string> {
  const key = createHash('sha256')
    .update(await readFile(BUILDER))
    .update(await readFile(join(ROOT, 'scripts/fixtures/debian-packages.txt')))
    .update(`${kind}:${fillerMb}`)
    .digest('hex')
    .slice(0, 12);
  const out = join(FIXTURE_CACHE, `${kind}-${fillerMb}m-${key}.iso`);
  if (!existsSync(out)) {
    await mkdir(FIXTURE_CACHE, { recursive: true });
    // Written under a temporary name and renamed by the builder: a reader never sees half.
    await execa('bash', [BUILDER, kind, out, String(fillerMb)], { env: { FIXTURE_DEBS_DIR: join(ROOT, 'iso/cache/debs') } });
  }
  return out;
}

/** Every stand-in ISO the tests use (built once from the global set-up). */
export const ALL_FIXTURES: [kind: 'netinst' | 'mini', fillerMb: number][] = [
  ['netinst', 1],
  ['mini', 1],
  ['netinst', 400],
];

const DISK_BUILDER = join(ROOT, 'scripts/fixtures/build-installed-disk.sh');

/**
 * A 2 GiB raw disk with an "installed system" on it (scripts/fixtures/build-installed-disk.sh:
 * a partition table, GRUB for BIOS, and for gpt an ESP with shim and Debian's signed GRUB, and
 * a grub.cfg that prints a marker). Cached by the builder's content; use a copy (copyOfDisk).
 */
export async function installedDisk(layout: 'gpt' | 'msdos', mode: 'halt' | 'reboot3' = 'halt'): Promise<string> {
  const key = createHash('sha256').update(await readFile(DISK_BUILDER)).update(`${layout}:${mode}`).digest('hex').slice(0, 12);
  const out = join(FIXTURE_CACHE, `installed-${layout}-${mode}-${key}.img`);
  if (!existsSync(out)) {
    await mkdir(FIXTURE_CACHE, { recursive: true });
    await execa('bash', [DISK_BUILDER, out, layout, mode], { env: { FIXTURE_DEBS_DIR: join(ROOT, 'iso/cache/debs') } });
  }
  return out;
}

/** Every installed-system disk the tests use (built once from the global set-up). */
export const ALL_DISKS: [layout: 'gpt' | 'msdos', mode: 'halt' | 'reboot3'][] = [
  ['msdos', 'halt'],
  ['gpt', 'halt'],
  ['gpt', 'reboot3'],
];

/** A sparse copy in dir, for a test to boot (the fixture stays as built). */
export async function copyOfDisk(disk: string, dir: string): Promise<string> {
  const copy = join(dir, `disk-${createHash('sha256').update(disk).digest('hex').slice(0, 8)}.img`);
  await execa('cp', ['--sparse=always', disk, copy]);
  return copy;
}

/** A blank (all-zero, sparse) disk of `gib` GiB. */
export async function blankDisk(dir: string, gib = 4): Promise<string> {
  const path = join(dir, 'blank.img');
  await execa('truncate', ['-s', `${gib}G`, path]);
  return path;
}

export async function sha256OfFile(path: string): Promise<string> {
  const { stdout } = await execa('sha256sum', [path]);
  return stdout.split(' ')[0]!;
}
