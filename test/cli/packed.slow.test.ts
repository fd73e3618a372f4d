// The package as a command: `npm pack` in the clone, `npm install -g` of that tarball into a
// temporary prefix (its dependencies from npm's cache when it has them, else the registry),
// and the installed `vultr-sid-iso` run from a directory of its own, with a PATH that holds
// node and nothing else: `--version`, then `build --render-only`, which needs no xorriso, first
// without a config (the error names the example shipped with the package), then with that
// example copied as the error says; what it renders is what the clone renders. And `npx
// vultr-sid-iso`, the form every message uses, finds the installed command outside a clone.
import { execa } from 'execa';
import { readFile, readdir, symlink, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOOL_VERSION } from '../../src/paths.js';
import { ROOT, runCli, tempDir } from '../helpers/project.js';

/** Every file under dir, as relative paths, sorted. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

describe('npm pack, npm install -g from the tarball', () => {
  it('gives a working vultr-sid-iso: --version, and build --render-only without xorriso', { timeout: 300_000 }, async () => {
    const dir = await tempDir('vsi-packed-');
    const started = Date.now();
    const packed = await execa('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT });
    const [tarball] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    // Only what the installed command reads: its entry point, compiled sources, templates, keys,
    // GRUB's two files, the example config and its schema (and npm's own README and package.json).
    const packedFiles = tarball!.files.map((f) => f.path);
    expect(packedFiles.filter((p) => !/^(bin\/vultr-sid-iso\.js|dist\/src\/.*\.js|templates\/.*|keys\/[^/]+\.asc|grub\/(biosgrub\.img|decide\.cfg)|iso\.config\.(yaml|schema\.json)|README\.md|package\.json)$/.test(p))).toEqual([]);
    expect(packedFiles).toEqual(expect.arrayContaining(['bin/vultr-sid-iso.js', 'dist/src/bin.js', 'dist/src/files/hash-thread.js', 'templates/preseed.cfg.hbs', 'keys/debian-cd-signing.asc', 'grub/biosgrub.img', 'iso.config.yaml']));

    const prefix = join(dir, 'prefix');
    await execa('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball!.filename)]);
    const seconds = (Date.now() - started) / 1000;
    console.log(`npm pack and npm install -g: ${seconds.toFixed(1)} s`);

    // PATH: node alone. No xorriso, no npm, nothing from the clone.
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await symlink(process.execPath, join(bin, 'node'));
    const work = join(dir, 'work');
    await mkdir(work);
    const installed = (args: string[]) => execa(join(prefix, 'bin/vultr-sid-iso'), args, { cwd: work, reject: false, env: { PATH: bin, NO_COLOR: '1' }, extendEnv: false });

    const version = await installed(['--version']);
    expect(version.exitCode, version.stderr).toBe(0);
    expect(version.stdout).toBe(TOOL_VERSION);

    // No config where it runs: the error says where the shipped example is and how to take it.
    const bare = await installed(['build', '--render-only', 'review']);
    expect(bare.exitCode).toBe(2);
    const example = join(prefix, 'lib/node_modules/vultr-sid-iso/iso.config.yaml');
    expect(bare.stderr.trimEnd().split('\n').at(-1)).toBe(
      `vultr-sid-iso: config file iso.config.yaml (in ${work}) does not exist; pass --config FILE, or start from the example: cp ${example} iso.config.yaml`,
    );
    await execa('sh', ['-c', `cp ${example} iso.config.yaml`], { cwd: work });

    const rendered = await installed(['build', '--render-only', 'review', '--json']);
    expect(rendered.exitCode, rendered.stderr).toBe(0);
    expect(JSON.parse(rendered.stdout)).toMatchObject({ kind: 'render-only', dir: 'review' });
    // The same files, byte for byte, as the clone renders from its own config.
    const clone = join(dir, 'clone-review');
    const fromClone = await runCli(['build', '--render-only', clone]);
    expect(fromClone.exitCode, fromClone.stderr).toBe(0);
    const names = await files(join(work, 'review'));
    expect(names).toEqual(await files(clone));
    for (const name of names) expect(await readFile(join(work, 'review', name)), name).toEqual(await readFile(join(clone, name)));

    // The form the messages use finds the installed command outside any clone (--yes=false:
    // never an install from the registry instead).
    const npx = await execa('npx', ['--yes=false', 'vultr-sid-iso', '--version'], { cwd: work, env: { npm_config_prefix: prefix } });
    expect(npx.stdout).toBe(TOOL_VERSION);
  });
});
