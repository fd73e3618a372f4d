// Bad input fails cleanly: the right exit code, one clear sentence, nothing partial left.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { standinIso } from '../helpers/fixtures.js';
import { mirrorServer } from '../helpers/http-server.js';
import { CLI, runCli, tempDir } from '../helpers/project.js';

function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('vultr-sid-iso:'));
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

async function expectNothingLeft(dir: string) {
  const out = join(dir, 'out');
  const left = existsSync(out) ? await readdir(out) : [];
  expect(left).toEqual([]);
  expect(await readdir(join(dir, 'tmp'))).toEqual([]);
}

async function setup() {
  const dir = await tempDir();
  await mkdir(join(dir, 'tmp'));
  return { dir, env: { TMPDIR: join(dir, 'tmp') } };
}

describe('bad input', () => {
  it('a file that is not an ISO: exit 2', async () => {
    const { dir, env } = await setup();
    await writeFile(join(dir, 'junk.iso'), Buffer.alloc(1 << 20, 7));
    const r = await runCli(['build', '--base-iso', join(dir, 'junk.iso'), '--out-dir', join(dir, 'out')], { env });
    expect(r.exitCode).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/base ISO .*junk\.iso is not an ISO 9660 image; pass a Debian amd64 netinst or mini\.iso with --base-iso/);
    await expectNothingLeft(dir);
  });

  it('an ISO that is not a Debian installer: exit 2, saying what was found', async () => {
    const { dir, env } = await setup();
    await mkdir(join(dir, 'tree'));
    await writeFile(join(dir, 'tree/hello.txt'), 'hi');
    await execa('xorriso', ['-as', 'mkisofs', '-o', join(dir, 'plain.iso'), join(dir, 'tree')]);
    const r = await runCli(['build', '--base-iso', join(dir, 'plain.iso'), '--out-dir', join(dir, 'out')], { env });
    expect(r.exitCode).toBe(2);
    expect(oneLine(r.stderr)).toContain('is not a Debian amd64 netinst or mini.iso (it has no El Torito boot images)');
    await expectNothingLeft(dir);
  });

  it('an ISO vultr-sid-iso made already: exit 2 (repacking it again would stack preseeds and menus)', { timeout: 120_000 }, async () => {
    const { dir, env } = await setup();
    const first = await runCli(['build', '--base-iso', await standinIso('mini'), '--out-dir', join(dir, 'first'), '--json'], { env });
    expect(first.exitCode, first.stderr).toBe(0);
    const ours = JSON.parse(first.stdout).iso.path as string;
    const r = await runCli(['build', '--base-iso', ours, '--out-dir', join(dir, 'out')], { env });
    expect(r.exitCode).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/base ISO .* was made by vultr-sid-iso already \(it has \/vultr\/initrd\.gz\); pass Debian's original image with --base-iso/);
    await expectNothingLeft(dir);
  });

  it('a truncated ISO: exit 2', async () => {
    const { dir, env } = await setup();
    const whole = await readFile(await standinIso('netinst'));
    await writeFile(join(dir, 'cut.iso'), whole.subarray(0, Math.floor(whole.length / 2)));
    const r = await runCli(['build', '--base-iso', join(dir, 'cut.iso'), '--out-dir', join(dir, 'out')], { env });
    expect(r.exitCode).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/cut\.iso is truncated: .* download it again/);
    await expectNothingLeft(dir);
  });

  it('xorriso missing: exit 1, naming the package to install', async () => {
    const { dir, env } = await setup();
    const r = await runCli(['build', '--base-iso', await standinIso('netinst'), '--out-dir', join(dir, 'out')], { env: { ...env, PATH: '/nonexistent' } });
    expect(r.exitCode).toBe(1);
    expect(oneLine(r.stderr)).toContain('xorriso was not found (it writes the ISO); install it with: sudo apt-get install xorriso');
    await expectNothingLeft(dir);
  });

  it('xorriso missing, with a base to download: it says so before a byte of the base is fetched', async () => {
    const { dir, env } = await setup();
    const mirror = await mirrorServer();
    const r = await runCli(['build', '--base-iso', `${mirror.url}/debian-13.2.0-amd64-netinst.iso`, '--allow-insecure-url', '--out-dir', join(dir, 'out'), '--cache-dir', join(dir, 'cache')], { env: { ...env, PATH: '/nonexistent' } });
    expect(r.exitCode).toBe(1);
    expect(oneLine(r.stderr)).toContain('xorriso was not found (it writes the ISO); install it with: sudo apt-get install xorriso');
    expect(mirror.requests).toEqual([]);
    // The control: with xorriso found, the same build asks the mirror (and fails there: it serves nothing).
    const asked = await runCli(['build', '--base-iso', `${mirror.url}/debian-13.2.0-amd64-netinst.iso`, '--allow-insecure-url', '--out-dir', join(dir, 'out'), '--cache-dir', join(dir, 'cache')], { env });
    expect(asked.exitCode).not.toBe(0);
    expect(mirror.requests.length).toBeGreaterThan(0);
  });

  it('an output directory that cannot be created: exit 2', async () => {
    const { dir, env } = await setup();
    await writeFile(join(dir, 'afile'), '');
    const r = await runCli(['build', '--base-iso', await standinIso('netinst'), '--out-dir', join(dir, 'afile', 'out')], { env });
    expect(r.exitCode).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/output directory .*afile\/out is not writable \(ENOTDIR\); pass a writable --out-dir/);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('a full output directory: exit 1 before writing anything', async () => {
    const { dir, env } = await setup();
    const out = join(dir, 'out');
    await mkdir(out);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', out]);
    try {
      const r = await runCli(['build', '--base-iso', await standinIso('netinst'), '--out-dir', out], { env });
      expect(r.exitCode).toBe(1);
      expect(oneLine(r.stderr)).toMatch(/output directory .* has .* free but the ISO needs about .*; free some space or pass another --out-dir/);
      expect(await readdir(out)).toEqual([]);
    } finally {
      await execa('umount', [out]);
    }
    await expectNothingLeft(dir);
  });

  it('Ctrl-C while the ISO is being written: exit 130, nothing partial left', { timeout: 120_000 }, async () => {
    const { dir, env } = await setup();
    const base = await standinIso('netinst', 400);
    const child = execa(process.execPath, [CLI, 'build', '--base-iso', base, '--out-dir', join(dir, 'out')], { reject: false, env: { ...env, NO_COLOR: '1' } });
    let interrupted = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      if (!interrupted && chunk.toString().includes('▶ Write ISO')) {
        interrupted = true;
        setTimeout(() => child.kill('SIGINT'), 300);
      }
    });
    const r = await child;
    expect(interrupted).toBe(true);
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toContain('cancelled by SIGINT');
    await expectNothingLeft(dir);
  });
  it('the base ISO changes while it is being read: exit 1, nothing left', { timeout: 120_000 }, async () => {
    const { dir, env } = await setup();
    const base = join(dir, 'base.iso'); // a copy: other tests read the shared fixture
    await copyFile(await standinIso('netinst', 400), base);
    const child = execa(process.execPath, [CLI, 'build', '--base-iso', base, '--out-dir', join(dir, 'out')], { reject: false, env: { ...env, NO_COLOR: '1' } });
    let touched = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      if (!touched && chunk.toString().includes('▶ Write ISO')) {
        touched = true;
        void utimes(base, new Date(), new Date());
      }
    });
    const r = await child;
    expect(touched).toBe(true);
    expect(r.exitCode).toBe(1);
    expect(oneLine(String(r.stderr))).toMatch(/base ISO .*base\.iso changed while the build was reading it; run the build again once it is complete/);
    await expectNothingLeft(dir);
  });
});
