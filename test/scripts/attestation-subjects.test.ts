// What the nightly attests (scripts/attestation-subjects.ts), checked with the real tools: each
// subject line is what sha512sum / sha256sum say of the file, the sidecar checksum line is one a
// user can write again from Vultr's sha512 and file name alone (byte for byte, so its digest is
// the attested one), and an ISO that is not its manifest's is refused.
import { execa } from 'execa';
import { appendFile, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/project.js';
import { builtIso } from '../helpers/vultr-world.js';

const SCRIPT = join(ROOT, 'dist/scripts/attestation-subjects.js');
const run = (args: string[]) => execa(process.execPath, [SCRIPT, ...args], { reject: false });

describe('attestation-subjects (what the nightly attests)', () => {
  it('lists the ISO by sha512 and sha256, its manifest and the checksum line, as sha*sum print them, and prints the sha512 for $GITHUB_OUTPUT', async () => {
    const dir = await tempDir();
    const { manifest, path } = await builtIso(dir, { bytes: 3 << 20 });
    const subjects = join(dir, 'subjects.txt');
    const r = await run(['--manifest', path, '--subjects', subjects]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(`sha512=${manifest.iso.sha512}`);
    const iso = manifest.iso.path;
    const lines = (await readFile(subjects, 'utf8')).trimEnd().split('\n');
    const tool = async (cmd: string, file: string) => (await execa(cmd, [basename(file)], { cwd: dirname(file) })).stdout;
    expect(lines).toEqual([
      await tool('sha512sum', iso),
      await tool('sha256sum', iso),
      await tool('sha256sum', path),
      await tool('sha256sum', `${iso}.sha512`),
    ]);
    // The sidecar is the line sha512sum prints, and checks the ISO.
    expect(await readFile(`${iso}.sha512`, 'utf8')).toBe(`${await tool('sha512sum', iso)}\n`);
    expect((await execa('sha512sum', ['--check', `${basename(iso)}.sha512`], { cwd: dirname(iso) })).stdout).toBe(`${basename(iso)}: OK`);
    // What a user writes from Vultr's listing (docs/ci.md) has the attested digest.
    const rebuilt = join(dir, 'from-vultr.sha512');
    await execa('bash', ['-c', 'printf "%s  %s\\n" "$1" "$2" > "$3"', '_', manifest.iso.sha512, basename(iso), rebuilt]);
    expect(`${(await tool('sha256sum', rebuilt)).split(' ')[0]}  ${basename(iso)}.sha512`).toBe(lines[3]);
  });

  it('refuses an ISO that is not the one its manifest describes (exit 2), attesting nothing', async () => {
    const dir = await tempDir();
    const { manifest, path } = await builtIso(dir, { bytes: 1 << 20 });
    await appendFile(manifest.iso.path, 'x');
    const r = await run(['--manifest', path, '--subjects', join(dir, 'subjects.txt')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${manifest.iso.path} does not match the digests in its manifest ${path}; rebuild it with npx vultr-sid-iso build`);
    expect(r.stdout).toBe('');
    await expect(readFile(join(dir, 'subjects.txt'))).rejects.toThrow(/ENOENT/);
  });

  it('finds the ISO beside a manifest that moved (an artifact), and names what is missing otherwise', async () => {
    const dir = await tempDir();
    const { manifest, path } = await builtIso(dir, { bytes: 1 << 20 });
    const moved = join(dir, 'moved.json');
    await execa('cp', [path, moved]);
    const elsewhere = JSON.stringify({ ...manifest, iso: { ...manifest.iso, path: '/build/machine/x.iso' } });
    await execa('bash', ['-c', 'printf "%s" "$1" > "$2"', '_', elsewhere, path]);
    expect((await run(['--manifest', path, '--subjects', join(dir, 's.txt')])).exitCode).toBe(0);
    const lost = await run(['--manifest', moved.replace('moved', 'nowhere'), '--subjects', join(dir, 's.txt')]);
    expect(lost.exitCode).toBe(2);
    expect(lost.stderr).toMatch(/manifest .*nowhere\.json does not exist; pass the <name>\.json that npx vultr-sid-iso build wrote beside its ISO/);
    await execa('rm', [join(dirname(path), `${manifest.name}.iso`)]);
    const gone = await run(['--manifest', path, '--subjects', join(dir, 's.txt')]);
    expect(gone.exitCode).toBe(2);
    expect(gone.stderr).toContain(`the ISO of manifest ${path} is neither at /build/machine/x.iso nor beside the manifest`);
    const none = await run([]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr.trim()).toBe("attestation-subjects: required option '--manifest <file>' not specified; see attestation-subjects --help");
  });
});
