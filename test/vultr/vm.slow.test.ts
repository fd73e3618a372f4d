// vm create, vm detach, vm list and iso list against the fake Vultr API under both behaviour
// profiles (docs/publishing.md, "How Vultr really behaves"): the install is finished when
// the installed system answers on SSH, a detach restarts the VM, locked instances are
// waited for, and once the install is finished nothing deletes the VM.
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TraceLine } from '../../src/systems/vultr-trace.js';
import { FakeVultr, type Profile } from '../helpers/fake-vultr.js';
import { refusedDials } from '../helpers/loopback-only.js';
import { CLI, runCli } from '../helpers/project.js';
import { API_KEY, cli, config, recordOutput, useVultrChecks, vmCreate, world, type World } from '../helpers/vultr-world.js';

useVultrChecks();

const PROFILES: Profile[] = ['vultr-2026', 'power-offs-register'];
const ourIso = (w: World) => w.fake.addIso('vultr-sid-aaaaaaaaaaaa.iso');
const calls = (w: World, method: string, suffix: string) => w.fake.requests.filter((q) => q.method === method && q.path.endsWith(suffix));

describe.each(PROFILES)('vm create (%s)', { timeout: 180_000 }, (profile) => {
  it('newest ISO → instance with IPv6 → the installed system answers → detach (Vultr restarts it) → answers again', async () => {
    const w = await world(profile);
    const iso = ourIso(w);
    const trace = `${w.dir}/vm.trace`;
    const r = await vmCreate(w, ['--ssh-key', 'key-1', '--trace', trace]);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const inst = w.fake.instances.get(out.id)!;
    expect(inst.request).toMatchObject({ region: 'ewr', plan: 'vc2-1c-2gb', enable_ipv6: true, sshkey_id: ['key-1'], tags: ['vultr-sid-iso'], iso_id: iso.id, hostname: 'debian' });
    expect(inst.request).not.toHaveProperty('os_id');
    expect(r.stderr).toMatch(/installed: the system answers \(SSH-2\.0-OpenSSH_10\.6 Debian-1\) after [\d.]+ min/);
    expect(r.stderr).toContain('restarted and answering');
    expect(r.stderr).not.toMatch(/warning/);
    // Vultr restarts the VM on a detach: nothing raced it with a start.
    expect(calls(w, 'POST', '/start')).toEqual([]);
    expect(inst.isoState).toBe('ready');
    expect(inst.guest).toBe('installed');
    expect(out).toEqual({
      id: inst.id,
      mainIp: inst.main_ip,
      v6MainIp: inst.v6_main_ip,
      v6Network: inst.v6_network,
      v6NetworkSize: 64,
      containerPrefix: `${inst.v6_network}/80`,
      installSeconds: expect.any(Number),
    });

    // The trace: every API answer and SSH change, never the key, the password or the console URL.
    const text = await readFile(trace, 'utf8');
    for (const secret of [API_KEY, 'not-a-real-password', 'secret-console-token']) expect(text).not.toContain(secret);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as TraceLine);
    expect(lines.filter((l) => l.kind === 'api')).toHaveLength(w.fake.requests.length);
    expect(lines.some((l) => l.kind === 'api' && (l.body as { instance?: { server_status?: string } })?.instance?.server_status === 'locked')).toBe(true);
    expect(lines.filter((l) => l.kind === 'ssh').map((l) => (l.kind === 'ssh' && l.banner ? 'up' : 'down'))).toEqual(expect.arrayContaining(['down', 'up']));

    const list = await cli(w, ['vm', 'list']);
    expect(JSON.parse(list.stdout).map((v: { id: string }) => v.id)).toEqual([inst.id]);
  });

  it('never waits on power_status: the install reboots, and Vultr does not register power-offs anyway', async () => {
    const w = await world(profile);
    ourIso(w);
    const r = await vmCreate(w);
    expect(r.exitCode, r.stderr).toBe(0);
    const inst = w.fake.instances.get(JSON.parse(r.stdout).id)!;
    // The instance never reported stopped: done by the banner alone.
    expect(inst.power_status).toBe('running');
  });

  it('an ISO whose install powers the VM off: started once if Vultr shows it, else a timeout that deletes the unfinished VM', async () => {
    const w = await world(profile, { installEnds: 'poweroff' });
    ourIso(w);
    const r = await vmCreate(w, ['--timeout', '4']);
    if (profile === 'power-offs-register') {
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toContain('powered itself off; starting it');
      expect(calls(w, 'POST', '/start')).toHaveLength(1);
    } else {
      // The control: with nothing to see, nothing can be done but give up and clean up.
      expect(r.exitCode).toBe(1);
      // Its IPv4 address only: the world says this machine has no IPv6 (the fake's are 2001:db8::).
      expect(r.stderr).toMatch(/the installed system on instance \S+ did not answer on SSH \(port \d+ of 127\.0\.\d+\.\d+\) within 4 s \(Vultr says active\/running\)/);
      expect(r.stderr).toMatch(/deleted the unfinished instance/);
      expect(w.fake.instances.size).toBe(0);
    }
  });

  it('Ctrl-C after the install finished: the VM stays, and the message says how to carry on', async () => {
    // Locked until the test says: vm detach must meet the lock however slow the machine is.
    const w = await world(profile, { lockMs: Infinity });
    ourIso(w);
    const child = execa(process.execPath, [CLI, 'vm', 'create', '--region', 'ewr', '--plan', 'p', '--poll-interval', '0.1', '--timeout', '20'], { reject: false, env: { ...process.env, ...w.env, NO_COLOR: '1' } });
    child.stderr?.on('data', (c: Buffer) => {
      if (c.toString().includes('installed: the system answers')) child.kill('SIGINT');
    });
    const r = await child;
    recordOutput(String(r.stdout), String(r.stderr));
    expect(r.exitCode).toBe(130);
    const [inst] = [...w.fake.instances.values()];
    expect(inst).toBeDefined();
    expect(String(r.stderr).trimEnd().split('\n').at(-1)).toBe(
      `vultr-sid-iso: cancelled by SIGINT; instance ${inst!.id} is installed, with its ISO still attached (harmless: the ISO boots the installed system), kept on purpose; carry on with: npx vultr-sid-iso vm detach ${inst!.id}, or remove it with: npx vultr-sid-iso vm delete ${inst!.id}`,
    );
    expect(calls(w, 'DELETE', `/instances/${inst!.id}`)).toEqual([]);

    // …and that command does carry on, waiting out the lock: released once Vultr refused it a detach.
    let ended = false;
    const detaching = cli(w, ['vm', 'detach', inst!.id, '--poll-interval', '0.2']).finally(() => (ended = true));
    while (!ended && !calls(w, 'POST', `/instances/${inst!.id}/iso/detach`).some((q) => q.status === 500)) await new Promise((r) => setTimeout(r, 50));
    w.fake.unlock(inst!.id);
    const detach = await detaching;
    expect(detach.exitCode, detach.stderr).toBe(0);
    expect(detach.stderr).toMatch(/is locked \(Vultr: "Unable to detach ISO: Server is currently locked"\); waiting to detach the ISO/);
    expect(inst!.isoState).toBe('ready');
  });

  it('--no-wait returns right after creation', async () => {
    const w = await world(profile);
    ourIso(w);
    const r = await vmCreate(w, ['--no-wait']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).installSeconds).toBeNull();
    expect(w.fake.instances.get(JSON.parse(r.stdout).id)?.isoState).toBe('attached');
  });

  it('empty vm.tags: refused (exit 2) before anything is asked of Vultr', async () => {
    const w = await world(profile);
    const yaml = await config(w, 'vm:\n  tags: []\n');
    const r = await cli(w, ['vm', 'create', '--config', yaml, '--region', 'ewr', '--plan', 'p']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`vultr-sid-iso: ${yaml}: vm.tags: [] is empty; give at least one tag (the first marks the VMs this tool may list, detach and delete)`);
    expect(w.fake.requests).toEqual([]);
  });

  it('iso list shows what each of our ISOs is attached to; vm detach refuses an instance that is not ours, and vm detach and vm delete one that does not exist (exit 2)', async () => {
    const w = await world(profile);
    const iso = ourIso(w);
    const theirs = w.fake.addInstance({ label: 'console-made', isoId: iso.id });
    const list = await cli(w, ['iso', 'list']);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: iso.id, attachedTo: [{ id: theirs.id, label: 'console-made', mainIp: theirs.main_ip }] })]);
    const plain = await runCli(['iso', 'list'], { env: w.env });
    recordOutput(plain.stdout, plain.stderr);
    expect(plain.stdout).toContain(`attached to instance ${theirs.id} (console-made, ${theirs.main_ip})`);
    const refused = await cli(w, ['vm', 'detach', theirs.id]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`instance ${theirs.id} does not carry the tag vultr-sid-iso, so it is not ours`);
    expect(theirs.isoState).toBe('attached');
    // An id that is no instance at all (a typo, one already deleted): bad input, and where to look.
    for (const verb of ['detach', 'delete']) {
      const unknown = await cli(w, ['vm', verb, 'cb676a46-66fd-4dfb-b839-443f2e6c0b60']);
      expect(unknown.exitCode, unknown.stderr).toBe(2);
      expect(unknown.stderr.trimEnd().split('\n').at(-1)).toBe('vultr-sid-iso: Vultr has no instance cb676a46-66fd-4dfb-b839-443f2e6c0b60; see npx vultr-sid-iso vm list for ours');
    }
  });
});

// Both profiles at once: each takes 40 real seconds.
describe('a lock that outlasts the request retries', { timeout: 300_000 }, () => {
  // How long Vultr's locks last is unknown (research: vultr-api.md §9); 40 s is many of the CLI's
  // tries at --poll-interval 2, and far below LOCK_TIMEOUT_MS (15 min), which it waits at most.
  it('cleanup waits for a lock that outlasts many tries (40 s), then deletes, under both profiles', async () => {
    const runs = await Promise.all(
      PROFILES.map(async (profile) => {
        const w = await world(profile, { lockMs: 40_000, installMs: 600_000 });
        ourIso(w);
        const started = Date.now();
        const r = await vmCreate(w, ['--poll-interval', '2', '--timeout', '5']);
        return { profile, w, r, ms: Date.now() - started };
      }),
    );
    for (const { profile, w, r, ms } of runs) {
      expect(r.exitCode, profile).toBe(1);
      expect(r.stderr, profile).toMatch(/did not answer on SSH/);
      expect(r.stderr, profile).toMatch(/instance \S+ is locked \(Vultr: "Unable to destroy server: Unable to remove VM: Server is currently locked"\); waiting to delete it/);
      expect(r.stderr, profile).toMatch(/deleted the unfinished instance/);
      expect(w.fake.instances.size, profile).toBe(0);
      expect(ms, profile).toBeGreaterThan(38_000);
    }
  });
});

describe('a recorded trace drives the fake', { timeout: 180_000 }, () => {
  it('vm create replayed from its own --trace ends the same way', async () => {
    const first = await world();
    ourIso(first);
    const trace = `${first.dir}/recorded.trace`;
    const recorded = await vmCreate(first, ['--trace', trace]);
    expect(recorded.exitCode, recorded.stderr).toBe(0);
    const lines = (await readFile(trace, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as TraceLine);

    const replay = await world('vultr-2026', {}, FakeVultr.replaying(API_KEY, lines));
    const again = await vmCreate(replay);
    expect(again.exitCode, again.stderr).toBe(0);
    const [a, b] = [JSON.parse(recorded.stdout), JSON.parse(again.stdout)];
    expect(b.id).toBe(a.id);
    expect(b.v6Network).toBe(a.v6Network);
    expect(b.containerPrefix).toBe(a.containerPrefix);
    // The recording's calls, answered from the recording: nothing the fake made up.
    expect(replay.fake.requests.every((q) => q.status < 400)).toBe(true);
  });
});

describe('no CLI run dials beyond loopback', { timeout: 180_000 }, () => {
  it('the control: told this machine reaches IPv6, vm create dials the fake\'s 2001:db8:: address, and the loopback guard refuses and logs it', async () => {
    const w = await world();
    ourIso(w);
    // Its own log, so that the check after the test (useVultrChecks: the world's log) stays for the real runs.
    const log = join(w.dir, 'control-dials.log');
    const r = await cli(w, ['vm', 'create', '--region', 'ewr', '--plan', 'p', '--poll-interval', '0.1', '--timeout', '20'], { VULTR_SID_ISO_IPV6_REACH: 'yes', VULTR_SID_ISO_TEST_DIAL_LOG: log });
    // The IPv4 banner still ends the install; the IPv6 probes were refused before they left.
    expect(r.exitCode, r.stderr).toBe(0);
    const inst = w.fake.instances.get(JSON.parse(r.stdout).id)!;
    expect(inst.v6_main_ip).toMatch(/^2001:db8:/);
    expect(refusedDials(log)).toContain(`refused a connection to ${inst.v6_main_ip}: the tests dial loopback addresses only`);
  });
});
