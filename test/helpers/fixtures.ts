// Stand-in Debian ISOs built from Debian packages by scripts/fixtures/, cached under
// iso/cache/fixtures keyed by the builder's own content (so a changed builder rebuilds).
// The builds are not byte-reproducible, so two builders must never race to (re)build one:
// every build runs under one lock (flock(1)), which also holds off the worktrees that share
// iso/cache, and checks for its output again once it holds the lock. test/global-setup.ts
// builds every fixture before a run that includes the slow tests; a fast test that needs one
// builds it here.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT as ROOT } from '../../src/paths.js';

const FIXTURE_CACHE = join(ROOT, 'iso/cache/fixtures');

const BUILDER = join(ROOT, 'scripts/fixtures/build-standin-iso.sh');
const DEBS = join(ROOT, 'iso/cache/debs');
const LOCK = join(ROOT, 'iso/cache/.fixtures.lock');

/** Runs `command` under the fixtures' lock, unless `out` exists once the lock is held. */
async function buildUnderLock(out: string, command: string[]): Promise<void> {
  if (existsSync(out)) return;
  await mkdir(FIXTURE_CACHE, { recursive: true });
  await execa('flock', [LOCK, 'sh', '-c', '[ -e "$1" ] || { shift; exec "$@"; }', 'sh', out, ...command], { env: { FIXTURE_DEBS_DIR: DEBS } });
}

/**
 * The pinned Debian packages (scripts/fixtures/debian-packages.txt) fetched and unpacked into
 * iso/cache/debs/root, under the same lock; once they are there, this only checks their sha256.
 */
export async function debianPackages(): Promise<string> {
  await mkdir(DEBS, { recursive: true });
  await execa('flock', [LOCK, 'sh', join(ROOT, 'scripts/fixtures/fetch-debs.sh'), DEBS]);
  return join(DEBS, 'root');
}

export async function standinIso(kind: 'netinst' | 'mini', fillerMb = 1): Promise<string> {
  const key = createHash('sha256')
    .update(await readFile(BUILDER))
    .update(await readFile(join(ROOT, 'scripts/fixtures/debian-packages.txt')))
    .update(`${kind}:${fillerMb}`)
    .digest('hex')
    .slice(0, 12);
  const out = join(FIXTURE_CACHE, `${kind}-${fillerMb}m-${key}.iso`);
  // Written under a temporary name and renamed by the builder: a reader never sees half.
  await buildUnderLock(out, ['bash', BUILDER, kind, out, String(fillerMb)]);
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
  await buildUnderLock(out, ['bash', DISK_BUILDER, out, layout, mode]);
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
