// The acceptance run (scripts/acceptance-vultr.ts) against the fake Vultr: it keeps to the
// library. With --iso it tests the ISO publish made (nothing built or published, that ISO left
// in place); without, it finds room before building and frees our oldest ISO only right before
// publishing, saying which. The fake's "installed system" answers only its SSH banner, so a
// run that gets as far as logging in fails there: what is checked is what it did before.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FakeVultr } from '../helpers/fake-vultr.js';
import { ROOT, tempDir } from '../helpers/project.js';
import { recordOutput, useVultrChecks, world, type World } from '../helpers/vultr-world.js';

useVultrChecks();

const SCRIPT = join(ROOT, 'dist/scripts/acceptance-vultr.js');
/** The script against the fake Vultr and s3rver, with its traces and logs in a temporary directory. */
async function against(w: World, args: string[]) {
  const out = await tempDir();
  const r = await execa(process.execPath, [SCRIPT, '--run-id', 'test-1', '--out', out, '--poll-interval', '0.1', '--no-ipv6-check', ...args], {
    reject: false,
    cwd: ROOT,
    env: { PATH: process.env.PATH!, ...w.env, VULTR_ACCEPTANCE: '1' },
    extendEnv: false,
  });
  recordOutput(String(r.stdout), String(r.stderr));
  return { ...r, out };
}
const ours = (fake: FakeVultr, n: number) => Array.from({ length: n }, (_, i) => fake.addIso(`vultr-sid-${String(i).repeat(12)}.iso`));
const names = (fake: FakeVultr) => [...fake.isos.values()].map((i) => i.filename).sort();

describe('npm run acceptance:vultr against the fake Vultr', { timeout: 180_000 }, () => {
  it('--iso: tests the ISO publish made, builds and publishes nothing, and leaves that ISO in the library', async () => {
    const w = await world('vultr-2026', { foreignIsos: [] });
    const [older, newest] = ours(w.fake, 2);
    const r = await against(w, ['--iso', newest!.id]);
    // The fake's "installed system" answers only its SSH banner, so the run fails at the login.
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`1. build: skipped (--iso ${newest!.id}`);
    expect(r.stderr).toMatch(/FAILED: ssh debian@127\./);
    expect(r.stderr).toMatch(new RegExp(`vultr-sid-iso vm create --config \\S+ --iso ${newest!.id} .*--tag vsi-acceptance-test-1`));
    expect(w.fake.requests.filter((q) => q.method === 'POST' && q.path === '/instances')).toHaveLength(1);
    expect(existsSync(join(r.out, 'build.log')) || existsSync(join(r.out, 'publish.log'))).toBe(false);
    expect(w.fake.requests.filter((q) => q.method === 'POST' && q.path === '/iso')).toEqual([]);
    // Cleaned up: the VM is gone, both ISOs of the nightly stay.
    expect(w.fake.instances.size).toBe(0);
    expect(names(w.fake)).toEqual([older!.filename, newest!.filename].sort());
  });

  it('--iso that is not in the library: exit 2, nothing made', async () => {
    const w = await world();
    const r = await against(w, ['--iso', 'cb676a46-66fd-4dfb-b839-443f2e6c0b60']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--iso cb676a46-66fd-4dfb-b839-443f2e6c0b60 is not in the Vultr ISO library; pass the vultr-iso-id that publish printed');
    expect(w.fake.instances.size).toBe(0);
  });

  it('without --iso, a library that cannot make room fails the run before the build', async () => {
    const w = await world('vultr-2026', { foreignIsos: ['my-rescue-system.iso', 'windows.iso'] });
    const r = await against(w, []);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('the Vultr ISO library holds 2 of 2: ');
    expect(r.stderr).toContain('so there is no room for the acceptance ISO; delete an ISO that is not ours in the Vultr console, or raise publish.librarySize');
    expect(existsSync(join(r.out, 'build.log'))).toBe(false);
    expect(names(w.fake)).toEqual(['my-rescue-system.iso', 'windows.iso']);
  });

  it('without --iso, a library full of ours: says before the build which will go, and deletes nothing if the build fails', async () => {
    const w = await world('vultr-2026', { foreignIsos: [] });
    const [older, newest] = ours(w.fake, 2);
    const r = await against(w, ['--base-iso', join(await tempDir(), 'missing.iso')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`the library is full: ${older!.filename} (ours, the oldest) will be deleted right before the acceptance ISO is published`);
    expect(r.stderr).toContain('FAILED: build failed');
    expect(names(w.fake)).toEqual([older!.filename, newest!.filename].sort());
  });
});

