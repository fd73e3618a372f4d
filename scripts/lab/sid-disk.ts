// The lab's "installed system" disk, cached by its inputs under iso/cache/sid-lab:
//   base-KEY.tar   mmdebstrap's sid root (build-sid-base.sh), keyed by the package list, the
//                  builder, the mirror and the week: sid moves, so a cache is never more than a
//                  week behind the archive. Shared by every variant.
//   disk-KEY/      the root finished by the rendered late.sh (build-sid-disk.sh), keyed by the
//                  base, the builder and every rendered file, so any template or config change
//                  rebuilds it.
// The configuration is the project's defaults plus the admin key below, rendered by the CLI
// itself (`build --render-only`): the disk carries the same files the ISO does. (Other
// settings are checked on the running VM by rewriting its /etc/vultr-sid-iso/ipv6.json, which
// is all a setting changes there; a second disk would cost a boot.)
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import yaml from 'js-yaml';
import { PROJECT_ROOT } from '../../src/paths.js';
import { TARGET_PACKAGES } from '../../src/render/render.js';

export const SID_LAB_CACHE = join(PROJECT_ROOT, 'iso/cache/sid-lab');
const HERE = join(PROJECT_ROOT, 'scripts/lab');
const BASE_BUILDER = join(HERE, 'build-sid-base.sh');
const DISK_BUILDER = join(HERE, 'build-sid-disk.sh');
const INSTALLER_PACKAGES = join(HERE, 'installer-packages.txt');
/** Disks kept besides the ones in use (each is ~1.3 GiB on disk). */
const DISKS_KEPT = 4;

export interface SidDisk {
  /** Raw disk image (boot it through a copy-on-write overlay, never directly). */
  disk: string;
  kernel: string;
  initrd: string;
  append: string;
  /** The admin's private key (its public half is in the rendered config). */
  adminKey: string;
  /** package → version, as installed on the disk. */
  packages: Map<string, string>;
  /** The rendered files the disk was made from. */
  renderDir: string;
}

export interface SidDiskOptions {
  cacheDir?: string;
  log?: (line: string) => void;
}

export async function sidDisk(options: SidDiskOptions = {}): Promise<SidDisk> {
  const cache = options.cacheDir ?? SID_LAB_CACHE;
  const log = options.log ?? ((line: string) => console.error(line));
  await mkdir(cache, { recursive: true });
  const adminKey = await labKey(join(cache, 'keys'), 'admin');

  const renderDir = join(cache, 'render');
  await render(renderDir, { admin: { sshAuthorizedKeys: [(await readFile(`${adminKey}.pub`, 'utf8')).trim()] } });

  const packages = [...(await readFile(INSTALLER_PACKAGES, 'utf8')).split('\n').filter((l) => l && !l.startsWith('#')), ...TARGET_PACKAGES];
  const mirror = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
  const week = String(Math.floor(Date.now() / (7 * 86_400_000)));
  const baseKey = hash(await readFile(BASE_BUILDER), packages.join(' '), mirror, week).slice(0, 16);
  const base = join(cache, `base-${baseKey}.tar`);
  if (!existsSync(base)) {
    log(`sid lab: building the sid root with mmdebstrap (${packages.length} packages and what they pull in)`);
    const started = Date.now();
    await locked(cache, base, ['sh', BASE_BUILDER, base, join(cache, 'apt-archives'), ...packages]);
    log(`sid lab: root built in ${Math.round((Date.now() - started) / 1000)} s`);
    await removeOthers(cache, /^base-.*\.tar$/, `base-${baseKey}.tar`);
  }

  const diskKey = hash(baseKey, await readFile(DISK_BUILDER), await treeDigest(renderDir)).slice(0, 16);
  const dir = join(cache, `disk-${diskKey}`);
  if (!existsSync(dir)) {
    log('sid lab: finishing the disk with the rendered late.sh');
    const started = Date.now();
    await locked(cache, dir, ['sh', DISK_BUILDER, base, renderDir, dir]);
    log(`sid lab: disk built in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  const now = new Date();
  await utimes(dir, now, now);
  await pruneDisks(cache);

  const versions = new Map((await readFile(join(dir, 'packages.txt'), 'utf8')).split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
  return {
    disk: join(dir, 'disk.img'),
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    append: (await readFile(join(dir, 'cmdline'), 'utf8')).trim(),
    adminKey,
    packages: versions,
    renderDir,
  };
}

/**
 * Runs a builder under the cache's lock (flock(1)) unless `output` exists by then: test files
 * run in parallel, and two of them must never build the same thing at once.
 */
async function locked(cache: string, output: string, builder: string[]): Promise<void> {
  const script = 'test -e "$1" || { shift; exec "$@"; }';
  await execa('flock', [join(cache, '.lock'), 'sh', '-c', script, 'sh', output, ...builder], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** An ed25519 key pair at DIR/NAME(.pub), made once (under a lock, complete or absent); lab-only. */
export async function labKey(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const make = 'test -e "$1" || { rm -f "$1.new" "$1.new.pub"; ssh-keygen -q -t ed25519 -N "" -C "$2" -f "$1.new" && mv "$1.new.pub" "$1.pub" && mv "$1.new" "$1"; }';
  await execa('flock', [join(dir, '.lock'), 'sh', '-c', make, 'sh', path, `${name}@vultr-sid-iso-lab`]);
  return path;
}

async function render(dir: string, config: Record<string, unknown>): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'vsi-lab-render-'));
  try {
    const configFile = join(scratch, 'lab.config.yaml');
    await writeFile(configFile, yaml.dump(config));
    await rm(dir, { recursive: true, force: true });
    await execa(process.execPath, [join(PROJECT_ROOT, 'dist/src/bin.js'), 'build', '--config', configFile, '--render-only', dir], { env: { NO_COLOR: '1' } });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** sha256 over every file's path, mode and content under dir. */
async function treeDigest(dir: string): Promise<string> {
  const h = createHash('sha256');
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
  for (const file of files) {
    h.update(`${relative(dir, file)}\0${(await stat(file)).mode & 0o7777}\0`);
    h.update(await readFile(file));
  }
  return h.digest('hex');
}

function hash(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const part of parts) h.update(part).update('\0');
  return h.digest('hex');
}

async function removeOthers(dir: string, pattern: RegExp, keep: string): Promise<void> {
  for (const name of await readdir(dir)) if (pattern.test(name) && name !== keep) await rm(join(dir, name), { force: true });
}

/** Keeps the most recently used disks (sidDisk touches the one it returns). */
async function pruneDisks(dir: string): Promise<void> {
  const disks = await Promise.all((await readdir(dir)).filter((n) => /^disk-[0-9a-f]+$/.test(n)).map(async (n) => ({ n, t: (await stat(join(dir, n))).mtimeMs })));
  for (const { n } of disks.sort((a, b) => b.t - a.t).slice(DISKS_KEPT)) await rm(join(dir, n), { recursive: true, force: true });
}
