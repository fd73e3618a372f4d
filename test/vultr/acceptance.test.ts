// The acceptance run on a real account (scripts/acceptance-vultr.ts) cannot run here; what
// can: it refuses without its flag and credentials, --dry-run prints its plan, touching
// nothing, and the slot it frees for its own ISO (against the fake Vultr) is our oldest one,
// never the newest, an attached one or anyone else's. The run itself against the fake is in
// acceptance.slow.test.ts.
import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAcceptanceSlot, freeAcceptanceSlot, planAcceptanceSlot, type SlotRules } from '../../scripts/acceptance-room.js';
import { readSettings } from '../../src/config/settings.js';
import { vultrClient } from '../../src/systems/vultr-api.js';
import type { FakeVultr } from '../helpers/fake-vultr.js';
import { ROOT } from '../helpers/project.js';
import { recordOutput, useVultrChecks, world, type World } from '../helpers/vultr-world.js';

useVultrChecks();

const SCRIPT = join(ROOT, 'dist/scripts/acceptance-vultr.js');
async function run(args: string[], env: Record<string, string>) {
  const r = await execa(process.execPath, [SCRIPT, ...args], { reject: false, cwd: ROOT, env: { PATH: process.env.PATH!, ...env }, extendEnv: false });
  recordOutput(String(r.stdout), String(r.stderr));
  return r;
}
const RULES: SlotRules = { prefix: 'vultr-sid', accPrefix: 'vultr-sid-acc', capacity: 2 };
const ours = (fake: FakeVultr, n: number) => Array.from({ length: n }, (_, i) => fake.addIso(`vultr-sid-${String(i).repeat(12)}.iso`));
const names = (fake: FakeVultr) => [...fake.isos.values()].map((i) => i.filename).sort();

describe('npm run acceptance:vultr', () => {
  it('refuses to run without VULTR_ACCEPTANCE=1 and credentials (exit 2), saying what is missing', async () => {
    const bare = await run([], {});
    expect(bare.exitCode).toBe(2);
    expect(bare.stderr).toContain('refusing to run: it creates billed resources on a real Vultr account; set VULTR_ACCEPTANCE=1, VULTR_API_KEY, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    const flagOnly = await run([], { VULTR_ACCEPTANCE: '1' });
    expect(flagOnly.exitCode).toBe(2);
    expect(flagOnly.stderr).toContain('set VULTR_API_KEY, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    const keysNoFlag = await run([], { VULTR_API_KEY: 'k', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's' });
    expect(keysNoFlag.exitCode).toBe(2);
    expect(keysNoFlag.stderr).toContain('set VULTR_ACCEPTANCE=1 ');
  });

  it('--dry-run prints the plan, needing neither flag nor credentials', async () => {
    const r = await run(['--dry-run', '--run-id', 'test-1', '--region', 'ams', '--no-ipv6-check'], {});
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('VMs tagged vsi-acceptance-test-1');
    for (const step of ['1. build', '2. publish', 'our oldest ISO is deleted first, saying which', '3. vm create: --iso <the new ISO> --region ams', '4. ssh in', '5. from here', '(skipped: --no-ipv6-check; the VM itself fetches it instead)', '6. always: delete every VM tagged vsi-acceptance-test-1']) {
      expect(r.stdout).toContain(step);
    }
    const given = await run(['--dry-run', '--iso', 'cb676a46-66fd-4dfb-b839-443f2e6c0b60'], {});
    expect(given.stdout).toContain('1. build: skipped (--iso cb676a46-66fd-4dfb-b839-443f2e6c0b60: the ISO publish made is tested)');
    expect(given.stdout).toContain('2. publish: skipped; ISO cb676a46-66fd-4dfb-b839-443f2e6c0b60 is used and left in the library');
    expect(given.stdout).toContain('3. vm create: --iso cb676a46-66fd-4dfb-b839-443f2e6c0b60 ');
  });

  it('bad flags are named (exit 2) before anything else', async () => {
    const poll = await run(['--dry-run', '--poll-interval', '0'], {});
    expect(poll.exitCode).toBe(2);
    expect(poll.stderr).toContain('--poll-interval 0 is not a positive number; pass seconds, e.g. --poll-interval 10');
    const iso = await run(['--dry-run', '--iso', 'a b'], {});
    expect(iso.exitCode).toBe(2);
    expect(iso.stderr).toContain('--iso a b is not a Vultr ISO id; pass the vultr-iso-id that publish printed');
  });
});

describe('the acceptance ISO\'s slot in the library (scripts/acceptance-room.ts)', { timeout: 60_000 }, () => {
  const client = (w: World) => vultrClient(readSettings(w.env), new AbortController().signal);

  it('frees our oldest ISO, never the newest, and says so; the run\'s own leftovers count as free', async () => {
    const w = await world('vultr-2026', { foreignIsos: [] });
    const [older, newest] = ours(w.fake, 2);
    const said: string[] = [];
    expect(await freeAcceptanceSlot(client(w), RULES, (l) => said.push(l))).toEqual([older!.filename]);
    expect(said).toEqual([`deleted ${older!.filename} (${older!.id}), the oldest of ours, to make room for the acceptance ISO; the next publish fills the library again`]);
    expect(names(w.fake)).toEqual([newest!.filename]);
    // A leftover of an earlier acceptance run is its publish's to delete: nothing more goes.
    w.fake.addIso('vultr-sid-acc-aaaaaaaaaaaa.iso');
    expect(await freeAcceptanceSlot(client(w), RULES, (l) => said.push(l))).toEqual([]);
    expect(await checkAcceptanceSlot(client(w), RULES)).toBe('the library has room for the acceptance ISO');
  });

  it('an attached ISO, someone else\'s, or our only one is never freed: the library is full then', async () => {
    const w = await world('vultr-2026', { foreignIsos: ['my-rescue-system.iso'] });
    const [only] = ours(w.fake, 1);
    await expect(freeAcceptanceSlot(client(w), RULES, () => undefined)).rejects.toThrow(/no room for the acceptance ISO; delete an ISO that is not ours in the Vultr console/);
    expect(names(w.fake)).toEqual(['my-rescue-system.iso', only!.filename].sort());
    // Pure planning: two of ours, the older attached to a VM.
    const [a, b] = [only!, { ...only!, id: 'newer', filename: 'vultr-sid-bbbbbbbbbbbb.iso', date_created: new Date().toISOString() }];
    const attached = new Map([[a.id, [{ id: 'vm-1', label: 'web', main_ip: '192.0.2.7' }]]]) as unknown as Parameters<typeof planAcceptanceSlot>[0]['attached'];
    const plan = planAcceptanceSlot({ isos: [a, b] as never, attached }, RULES);
    expect(plan.remove).toEqual([]);
    expect(plan.full).toMatch(/^holds 2 of 2/);
  });
});
