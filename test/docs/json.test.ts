// The JSON the pages show is the JSON the CLI prints: `build --render-only DIR --json` (run
// here) prints { kind, dir, files }, not the manifest; the manifest example of
// docs/building.md carries the fields DESIGN's contract names, with figures a real build could
// give (its shape against a real build is checked where one is made:
// test/build/structure.slow.test.ts).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentedManifest, jsonExamples, keyPaths } from '../helpers/doc-json.js';
import { runCli, tempDir } from '../helpers/project.js';

const MiB = 1024 * 1024;

describe('JSON on the pages', () => {
  it('build --render-only DIR --json prints what docs/building.md shows', async () => {
    const dir = join(await tempDir(), 'review');
    const r = await runCli(['build', '--render-only', dir, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as { kind: string; dir: string; files: string[] };
    const shown = jsonExamples('docs/building.md').filter((j) => (j as { kind?: string }).kind === 'render-only');
    expect(shown).toHaveLength(1);
    expect(keyPaths(printed)).toEqual(keyPaths(shown[0]));
    expect(printed).toMatchObject({ kind: 'render-only', dir });
    // The example's files are real ones.
    for (const file of (shown[0] as { files: string[] }).files.filter((f) => f !== '…')) expect(printed.files).toContain(file);
  });

  it("docs/building.md's manifest example has the contract's fields and figures a real build could give", () => {
    const m = documentedManifest() as { name: string; inputsHash: string; iso: { path: string; size: number } };
    expect(keyPaths(m)).toEqual(
      expect.arrayContaining(['name', 'toolVersion', 'inputsHash', 'iso.path', 'iso.size', 'iso.sha256', 'iso.sha512', 'base.source', 'base.sha512', 'base.verified', 'base.volumeId', 'bootEntries[].id']),
    );
    // One name throughout: the file, and the hash its name ends in.
    expect(m.iso.path.endsWith(`/${m.name}.iso`)).toBe(true);
    expect(m.inputsHash.replace('…', '')).toBe(m.name.split('-').at(-1)!.slice(0, m.inputsHash.replace('…', '').length));
    // ISO 9660 is written in 2048-byte blocks, and a repacked amd64 netinst is Debian's
    // (600–800 MiB) plus the initrd copy: the 134 MiB the page once showed was a stand-in's.
    expect(m.iso.size % 2048).toBe(0);
    expect(m.iso.size).toBeGreaterThan(500 * MiB);
    expect(m.iso.size).toBeLessThan(1024 * MiB);
  });

  it('keyPaths, the comparison above, tells shapes apart (the control)', () => {
    expect(keyPaths({ kind: 'render-only', dir: 'x', files: ['a', '…'] })).toEqual(['dir', 'files[]', 'kind']);
    expect(keyPaths({ name: 'x', iso: { path: 'p', size: 1 }, bootEntries: [{ id: 'a' }, { '…': '…' }] })).toEqual(['bootEntries[].id', 'iso.path', 'iso.size', 'name']);
    expect(keyPaths({ kind: 'render-only', dir: 'x', files: [] })).not.toEqual(keyPaths({ name: 'x', iso: {} }));
  });
});
