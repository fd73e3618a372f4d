// vm create --count 3 against the fake Vultr's real-behaviour profile (vultr-2026): three VMs
// from one ISO, made in parallel within the one pace the run keeps, each labelled and tagged,
// waited for together, each /80 reported; and the fault contract per VM
// (helpers/account-invariants.ts, with three VMs allowed): after a Ctrl-C at any point, a
// lost answer, one VM that fails, or a create the account's instance limit refuses, every VM
// the run made is gone or named. As in the fault matrix, the fake's GET /instances ignores its
// filter (lax: every VM back, someone else's and our older web-1 too), and a run that asks
// Vultr to filter fails: what is ours, and which new VM a create made, are decided by the CLI
// (VultrClient.listTagged).
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { accountViolations, snapshot } from '../helpers/account-invariants.js';
import { nth } from '../helpers/fake-faults.js';
import { INSTANCE_LIMIT_ERROR } from '../helpers/fake-vultr.js';
import { CLI } from '../helpers/project.js';
import { recordOutput, useVultrChecks, vmCreate, world, type World } from '../helpers/vultr-world.js';

useVultrChecks();

const fleet = (w: World, extra: string[] = []) => vmCreate(w, ['--count', '3', '--label', 'web', '--tag', 'fleet-a', ...extra]);
const check = (w: World, before: ReturnType<typeof snapshot>, r: { exitCode: number | undefined; stdout: string; stderr: string }, exitCodes: number[]) => [
  ...accountViolations(w.fake, before, r, { prefix: 'vultr-sid', exitCodes, vms: 3 }),
  ...w.fake.instanceFilterQueries.map((q) => `GET /instances was asked to filter (${q}): what is ours must be decided by the CLI`),
];

/** A world with our ISO, an older VM of ours and someone else's (neither may be touched). */
async function fleetWorld(overrides = {}) {
  const w = await world('vultr-2026', { instanceFilter: 'lax', ...overrides });
  const iso = w.fake.addIso('vultr-sid-aaaaaaaaaaaa.iso');
  w.fake.addInstance({ label: 'web-1', tags: ['vultr-sid-iso'], isoId: iso.id });
  w.fake.addInstance({ label: 'someone-else', tags: [] });
  return { w, before: snapshot(w.fake) };
}

/** The CLI, killed with SIGINT once its stderr shows `count` lines matching `when`. */
async function ctrlC(w: World, args: string[], when: RegExp, count: number) {
  const child = execa(process.execPath, [CLI, 'vm', 'create', '--region', 'ewr', '--plan', 'p', '--poll-interval', '0.1', '--timeout', '20', '--json', ...args], {
    reject: false,
    env: { ...process.env, ...w.env, NO_COLOR: '1' },
  });
  let seen = '';
  let sent = false;
  child.stderr?.on('data', (c: Buffer) => {
    seen += c.toString();
    // Once: a second Ctrl-C would stop the cleanup.
    if (!sent && (seen.match(new RegExp(when, 'g')) ?? []).length >= count) sent = child.kill('SIGINT');
  });
  const r = await child;
  const out = { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
  recordOutput(out.stdout, out.stderr);
  return out;
}

describe('vm create --count 3', { timeout: 180_000 }, () => {
  it('makes three VMs in parallel, each labelled and tagged, waits for all, and reports each /80', async () => {
    const { w, before } = await fleetWorld();
    const r = await fleet(w);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { id: string; containerPrefix: string; installSeconds: number }[];
    expect(out).toHaveLength(3);
    const made = out.map((o) => w.fake.instances.get(o.id)!);
    expect(made.map((i) => [i.label, i.hostname, i.tags])).toEqual([1, 2, 3].map((n) => [`web-${n}`, `debian-${n}`, ['vultr-sid-iso', 'fleet-a']]));
    for (const [k, i] of made.entries()) {
      expect(out[k]).toMatchObject({ id: i.id, containerPrefix: `${i.v6_network}/80`, installSeconds: expect.any(Number) });
      expect(i.isoState).toBe('ready');
    }
    // Waited for together: the three creates all came before the first detach.
    const sigs = w.fake.log.calls.map((c) => c.sig);
    expect(sigs.lastIndexOf('POST /instances')).toBeLessThan(sigs.indexOf('POST /instances/{instance-id}/iso/detach'));
    for (const n of [1, 2, 3]) expect(r.stderr).toMatch(new RegExp(`vm ${n}/3: ✔ Wait for the installed system after the restart`));
    // Within the pace, whatever three VMs ask (each polls every 0.1 s: 30 a second wanted): the
    // one pace gives every request its own 125 ms slot, after the one before. Load can delay a
    // request past its slot, never bring it forward, so from the first call to the last at
    // least 125 ms per call went by, less the first call's own delay (a second allowed). A
    // window count (at most 8 in any second) is not used: a request held up by a busy machine
    // lands next to the one after it, and the count then says more than the pace did.
    const at = w.fake.log.calls.map((c) => c.at);
    expect(at.length).toBeGreaterThan(20);
    expect(at.at(-1)! - at[0]!).toBeGreaterThanOrEqual(125 * (at.length - 1) - 1000);
    expect(check(w, before, r, [0])).toEqual([]);
  });

  it('Ctrl-C while the three install: all three are deleted', async () => {
    const { w, before } = await fleetWorld({ installMs: 4000 });
    const r = await ctrlC(w, ['--count', '3', '--label', 'web'], /✔ Create the instance/, 3);
    expect(r.exitCode).toBe(130);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('vultr-sid-iso: cancelled by SIGINT; everything this run created was removed');
    expect(w.fake.events.filter((e) => e.kind === 'instance-made')).toHaveLength(3);
    expect(check(w, before, r, [130])).toEqual([]);
    expect(w.fake.instances.size).toBe(2);
  });

  it('Ctrl-C once the three are installed: all three are kept, each named with how to carry on', async () => {
    const { w, before } = await fleetWorld({ lockMs: 5000 });
    const r = await ctrlC(w, ['--count', '3', '--label', 'web'], /installed: the system answers/, 3);
    expect(r.exitCode).toBe(130);
    const last = r.stderr.trimEnd().split('\n').at(-1)!;
    const made = w.fake.events.filter((e) => e.kind === 'instance-made').map((e) => e.id);
    expect(made).toHaveLength(3);
    for (const id of made) expect(last).toContain(`carry on with: npx vultr-sid-iso vm detach ${id}, or remove it with: npx vultr-sid-iso vm delete ${id}`);
    expect(check(w, before, r, [130])).toEqual([]);
  });

  it('Ctrl-C while the second POST /instances is in flight, after Vultr acted: every VM made is deleted', async () => {
    const { w, before } = await fleetWorld({ installMs: 3000 });
    w.fake.inject({ kind: 'sigint-after', at: nth('POST', '/instances', 2) });
    const r = await fleet(w);
    expect(w.fake.pendingFaults).toEqual([]);
    expect(r.exitCode).toBe(130);
    expect(check(w, before, r, [130])).toEqual([]);
    expect(w.fake.instances.size).toBe(2);
  });

  it('a lost answer to one create, with a lagging list: one VM each, found, not made twice', async () => {
    const { w, before } = await fleetWorld({ listLagMs: 200 });
    w.fake.inject({ kind: 'lost', at: nth('POST', '/instances', 2) });
    const r = await fleet(w);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(w.fake.events.filter((e) => e.kind === 'instance-made')).toHaveLength(3);
    expect(check(w, before, r, [0])).toEqual([]);
  });

  it("the account's instance limit refuses one create: the two VMs made finish and are kept and named; nothing else is touched; exit 1", async () => {
    // Two instances are there already: a limit of 4 leaves room for two of the three.
    const { w, before } = await fleetWorld({ instanceLimit: 4 });
    const r = await fleet(w);
    expect(r.exitCode).toBe(1);
    const last = r.stderr.trimEnd().split('\n').at(-1)!;
    expect(last).toMatch(new RegExp(`^vultr-sid-iso: 1 of 3 VMs failed \\(vm [123]: .*${INSTANCE_LIMIT_ERROR}`));
    const made = [...w.fake.instances.values()].filter((i) => i.madeAt !== 0);
    expect(made).toHaveLength(2);
    for (const i of made) expect(last).toContain(`remove it with: npx vultr-sid-iso vm delete ${i.id}`);
    expect(check(w, before, r, [1])).toEqual([]);
  });

  it('one VM that fails is deleted; the two that finished are kept and named; exit 1', async () => {
    // VM 2's installer never ends (as if it hung): nothing ever answers.
    const { w, before } = await fleetWorld();
    const r = await (async () => {
      const stopFor = (label: string) => {
        const i = [...w.fake.instances.values()].find((v) => v.label === label);
        if (i && i.guest === 'installer') {
          w.fake.instances.get(i.id)!.guest = 'off';
          return true;
        }
        return false;
      };
      const timer = setInterval(() => stopFor('web-2'), 20);
      try {
        return await fleet(w, ['--timeout', '5']);
      } finally {
        clearInterval(timer);
      }
    })();
    expect(r.exitCode).toBe(1);
    const last = r.stderr.trimEnd().split('\n').at(-1)!;
    expect(last).toMatch(/^vultr-sid-iso: 1 of 3 VMs failed \(vm 2: the installed system on instance \S+ did not answer on SSH/);
    const kept = [...w.fake.instances.values()].filter((i) => i.label === 'web-1' || i.label === 'web-3').filter((i) => i.madeAt !== 0);
    expect(kept).toHaveLength(2);
    for (const i of kept) expect(last).toContain(`remove it with: npx vultr-sid-iso vm delete ${i.id}`);
    expect([...w.fake.instances.values()].some((i) => i.label === 'web-2')).toBe(false);
    expect(check(w, before, r, [1])).toEqual([]);
  });
});
