// The lab's "installed system" disk, cached by its inputs under iso/cache/sid-lab:
//   base-KEY.tar   mmdebstrap's sid root (build-sid-base.sh): what Debian's installer puts on
//                  the disk before the late command (scripts/lab/installer-packages.txt and the
//                  preseed's pkgsel/include), not what late.sh installs, so that late.sh really
//                  installs it. Keyed by the package list, the builder, the mirror and the
//                  week: sid moves, so a cache is never more than a week behind the archive.
//                  Shared by every variant.
//   disk-KEY/      the root finished by the rendered late.sh (build-sid-disk.sh), with apt going
//                  through the lab's fault-injecting package source (apt-fault-proxy.ts); keyed
//                  by the base, the builder, the variant and every rendered file, so any
//                  template or config change rebuilds it.
//   render-KEY/    the rendered files, by their digest (a test file renders its own copy and
//                  renames it into place: several test files at once never see a half-made one).
// The configuration is the project's defaults plus the admin key below, rendered by the CLI
// itself (`build --render-only`): the disk carries the same files the ISO does. (Other
// settings are checked on the running VM by rewriting its /etc/vultr-sid-iso/ipv6.json, which
// is all a setting changes there; a second disk would cost a boot.)
//
// Variants (what the package source does while late.sh runs):
//   main       fails once (cloud-init's package, as from a mirror mid-sync) and then works:
//              late.sh must retry, and the install is complete
//   no-docker  has no docker.io: the install finishes with it missing (a VM that boots and
//              says so)
//   nothing    has nothing, and the installer wrote a systemd-networkd configuration: late.sh
//              refuses both; run in the chroot only (no disk), with a target disk to wipe
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import yaml from 'js-yaml';
import { configSchema } from '../../src/config/schema.js';
import { installedSystemArgs } from '../../src/iso/boot-menus.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { AptFaultProxy, type AptFaults, type ProxiedRequest } from './apt-fault-proxy.js';

export const SID_LAB_CACHE = join(PROJECT_ROOT, 'iso/cache/sid-lab');
const HERE = join(PROJECT_ROOT, 'scripts/lab');
const BASE_BUILDER = join(HERE, 'build-sid-base.sh');
const DISK_BUILDER = join(HERE, 'build-sid-disk.sh');
const FAULT_PROXY = join(PROJECT_ROOT, 'dist/scripts/lab/apt-fault-proxy.js');
const INSTALLER_PACKAGES = join(HERE, 'installer-packages.txt');
/** Disks kept besides the ones in use (each is ~1.3 GiB on disk). */
const DISKS_KEPT = 4;

export type SidVariant = 'main' | 'no-docker' | 'nothing';

interface VariantSpec {
  faults: AptFaults;
  env: Record<string, string>;
}

const VARIANTS: Record<SidVariant, VariantSpec> = {
  main: { faults: { failOnce: [/\/pool\/main\/c\/cloud-init\/cloud-init_[^/]*\.deb$/] }, env: {} },
  'no-docker': { faults: { refuse: [/\/pool\/main\/d\/docker\.io\/docker\.io_[^/]*\.deb$/] }, env: {} },
  nothing: { faults: { refuse: [/./] }, env: { LAB_NETWORK: 'networkd', LAB_LATE_ONLY: '1', LAB_WIPE_DISK: '1' } },
};

/** What late.sh did, as the builder kept it. */
export interface LateRun {
  dir: string;
  /** The lines late.sh told the consoles ("vultr-sid-iso: ..."). */
  console: string[];
  /** What it recorded: part → outcome (/var/lib/vultr-sid-iso/install-status). */
  status: Record<string, string>;
  /** What the package source did with each of apt's requests. */
  requests: ProxiedRequest[];
  /** With a target disk to wipe: blkid's view of it before and after ("before: ...", "after: ..."). */
  wipe?: string[];
}

export interface SidDisk extends LateRun {
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
  variant?: Exclude<SidVariant, 'nothing'>;
}

export async function sidDisk(options: SidDiskOptions = {}): Promise<SidDisk> {
  const { dir, adminKey, renderDir } = await build(options.variant ?? 'main', options);
  const versions = new Map((await readFile(join(dir, 'packages.txt'), 'utf8')).split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
  return {
    ...(await lateRun(dir)),
    disk: join(dir, 'disk.img'),
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    append: `${(await readFile(join(dir, 'cmdline'), 'utf8')).trim()} ${installedSystemArgs(configSchema.parse({}).boot.serialConsole)}`,
    adminKey,
    packages: versions,
    renderDir,
  };
}

/** The rendered late.sh against a package source with nothing, in the chroot only (no disk). */
export async function failedInstall(options: Omit<SidDiskOptions, 'variant'> = {}): Promise<LateRun> {
  return lateRun((await build('nothing', options)).dir);
}

async function build(variant: SidVariant, options: Omit<SidDiskOptions, 'variant'>): Promise<{ dir: string; adminKey: string; renderDir: string }> {
  const cache = options.cacheDir ?? SID_LAB_CACHE;
  const log = options.log ?? ((line: string) => console.error(line));
  await mkdir(cache, { recursive: true });
  const adminKey = await labKey(join(cache, 'keys'), 'admin');
  const renderDir = await render(cache, { admin: { sshAuthorizedKeys: [(await readFile(`${adminKey}.pub`, 'utf8')).trim()] } });

  const packages = [...(await readFile(INSTALLER_PACKAGES, 'utf8')).split('\n').filter((l) => l && !l.startsWith('#')), ...(await pkgselInclude(join(cache, renderDir)))];
  const mirror = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
  const week = String(Math.floor(Date.now() / (7 * 86_400_000)));
  const baseKey = hash(await readFile(BASE_BUILDER), packages.join(' '), mirror, week).slice(0, 16);
  const base = join(cache, `base-${baseKey}.tar`);
  if (!existsSync(base)) {
    log(`sid lab: building the sid root with mmdebstrap (${packages.length} packages and what they pull in)`);
    const started = Date.now();
    await locked(join(cache, '.lock'), base, ['sh', BASE_BUILDER, base, join(cache, 'apt-archives'), ...packages]);
    log(`sid lab: root built in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  await utimes(base, new Date(), new Date());
  await pruneBases(cache);

  const spec = VARIANTS[variant];
  const faultsText = JSON.stringify({ failOnce: spec.faults.failOnce?.map(String), refuse: spec.faults.refuse?.map(String), env: spec.env });
  const key = hash(baseKey, await readFile(DISK_BUILDER), await readFile(FAULT_PROXY), variant, faultsText, renderDir).slice(0, 16);
  const dir = join(cache, `${variant === 'nothing' ? 'late' : 'disk'}-${key}`);
  if (!existsSync(dir)) {
    log(`sid lab (${variant}): ${variant === 'nothing' ? 'running' : 'finishing the disk with'} the rendered late.sh, against a package source that ${describe(variant)}`);
    const started = Date.now();
    // What the source does with each request, kept as it goes; the builder copies it into its output.
    const requests = `${dir}.requests.jsonl`;
    const proxy = await AptFaultProxy.start(spec.faults, requests);
    try {
      // Each disk under a lock of its own: two test files may build two variants at once.
      await locked(`${dir}.lock`, dir, ['sh', DISK_BUILDER, base, join(cache, renderDir), dir], { ...spec.env, LAB_APT_PROXY: proxy.url, LAB_REQUESTS: requests });
    } finally {
      await proxy.stop();
      await rm(requests, { force: true });
    }
    log(`sid lab (${variant}): ${variant === 'nothing' ? 'late.sh ran' : 'disk built'} in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  const now = new Date();
  await utimes(dir, now, now);
  await pruneDisks(cache);
  return { dir, adminKey, renderDir: join(cache, renderDir) };
}

function describe(variant: SidVariant): string {
  return { main: 'fails once, then works', 'no-docker': 'has no docker.io', nothing: 'has nothing (and a systemd-networkd configuration)' }[variant];
}

async function lateRun(dir: string): Promise<LateRun> {
  const text = (name: string) => readFile(join(dir, name), 'utf8').catch(() => '');
  const lines = (t: string) => t.split('\n').filter(Boolean);
  const wipe = await text('wipe.txt');
  return {
    dir,
    console: lines(await text('console.log')).map((l) => l.replace(/^vultr-sid-iso: /, '')),
    status: Object.fromEntries(lines(await text('install-status')).filter((l) => !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])),
    requests: lines(await text('requests.jsonl')).map((l) => JSON.parse(l) as ProxiedRequest),
    ...(wipe ? { wipe: lines(wipe) } : {}),
  };
}

/** The packages the preseed has the installer add (pkgsel/include), as the lab's base has them too. */
async function pkgselInclude(renderDir: string): Promise<string[]> {
  const preseed = await readFile(join(renderDir, 'preseed.cfg'), 'utf8');
  return /^d-i pkgsel\/include string (.*)$/m.exec(preseed)?.[1]?.split(/[\s,]+/).filter(Boolean) ?? [];
}

/**
 * Runs a builder under a lock (flock(1)) unless `output` exists by then: test files run in
 * parallel, and two of them must never build the same thing at once.
 */
async function locked(lock: string, output: string, builder: string[], env: Record<string, string> = {}): Promise<void> {
  const script = 'test -e "$1" || { shift; exec "$@"; }';
  await execa('flock', [lock, 'sh', '-c', script, 'sh', output, ...builder], { stdio: ['ignore', 'inherit', 'inherit'], env });
}

/** An ed25519 key pair at DIR/NAME(.pub), made once (under a lock, complete or absent); lab-only. */
export async function labKey(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const make = 'test -e "$1" || { rm -f "$1.new" "$1.new.pub"; ssh-keygen -q -t ed25519 -N "" -C "$2" -f "$1.new" && mv "$1.new.pub" "$1.pub" && mv "$1.new" "$1"; }';
  await execa('flock', [join(dir, '.lock'), 'sh', '-c', make, 'sh', path, `${name}@vultr-sid-iso-lab`]);
  return path;
}

/** Renders the config into CACHE/render-DIGEST (made once, renamed into place); returns its name. */
async function render(cache: string, config: Record<string, unknown>): Promise<string> {
  const scratch = await mkdtemp(join(tmpdir(), 'vsi-lab-render-'));
  try {
    const configFile = join(scratch, 'lab.config.yaml');
    await writeFile(configFile, yaml.dump(config));
    const out = join(scratch, 'rendered');
    await execa(process.execPath, [join(PROJECT_ROOT, 'dist/src/bin.js'), 'build', '--config', configFile, '--render-only', out], { env: { NO_COLOR: '1' } });
    const name = `render-${(await treeDigest(out)).slice(0, 16)}`;
    if (!existsSync(join(cache, name))) {
      const staged = join(cache, `.${name}.${process.pid}`);
      await execa('cp', ['-a', out, staged]);
      await rename(staged, join(cache, name)).catch(async () => rm(staged, { recursive: true, force: true }));
    }
    const now = new Date();
    await utimes(join(cache, name), now, now);
    return name;
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

/** Keeps the two most recently used roots: worktrees of other branches may share the cache and need another. */
async function pruneBases(dir: string): Promise<void> {
  const bases = await Promise.all((await readdir(dir)).filter((n) => /^base-[0-9a-f]+\.tar$/.test(n)).map(async (n) => ({ n, t: (await stat(join(dir, n))).mtimeMs })));
  for (const { n } of bases.sort((a, b) => b.t - a.t).slice(2)) await rm(join(dir, n), { force: true });
}

/** Keeps the most recently used disks and late.sh runs (build touches the one it returns), and renders in use by them. */
async function pruneDisks(dir: string): Promise<void> {
  const entries = await readdir(dir);
  const disks = await Promise.all(entries.filter((n) => /^(disk|late)-[0-9a-f]+$/.test(n)).map(async (n) => ({ n, t: (await stat(join(dir, n))).mtimeMs })));
  for (const { n } of disks.sort((a, b) => b.t - a.t).slice(DISKS_KEPT)) {
    await rm(join(dir, n), { recursive: true, force: true });
    await rm(join(dir, `${n}.lock`), { force: true });
  }
  const renders = await Promise.all(entries.filter((n) => /^render-[0-9a-f]+$/.test(n)).map(async (n) => ({ n, t: (await stat(join(dir, n))).mtimeMs })));
  for (const { n } of renders.sort((a, b) => b.t - a.t).slice(DISKS_KEPT)) await rm(join(dir, n), { recursive: true, force: true });
}
