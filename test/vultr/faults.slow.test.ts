// The scenarios of issue 21, each one a way publish or vm create used to break the account
// when one thing went wrong: a Ctrl-C mid-call, an answer lost after Vultr acted, a list that
// lags, a DELETE answered 502 after it was done, a lock signalled only by server_status.
// Every test here failed before the change that made the flows safe to interrupt and retry.
// The fault matrix (fault-matrix.slow.test.ts) then runs every call × every fault.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { nth } from '../helpers/fake-faults.js';
import { builtIso, cli, config, publish, useVultrChecks, vmCreate, world, type World } from '../helpers/vultr-world.js';

useVultrChecks();

const OUR_TAG = 'vultr-sid-iso';
const ourIso = (w: World, hex = 'aaaaaaaaaaaa') => w.fake.addIso(`vultr-sid-${hex}.iso`);
const made = (w: World, kind: 'iso-made' | 'instance-made') => w.fake.events.filter((e) => e.kind === kind).map((e) => e.id);
const lastLines = (stderr: string, n = 3) => stderr.trimEnd().split('\n').slice(-n).join('\n');
/** A child that would hang for 15 minutes (or an hour) must fail the test long before. */
const BOUNDED = { timeout: 90_000 };

/** A loopback server that hosts a file for `publish --url` and answers HEAD with its size. */
async function host(data: Buffer): Promise<string> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Length': data.length, 'Content-Type': 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('issue 21: one fault, and the account stays as the contract says', { timeout: 180_000 }, () => {
  it('Ctrl-C while POST /instances is in flight (Vultr made the VM): the VM is found and removed', async () => {
    const w = await world();
    ourIso(w);
    w.fake.inject({ kind: 'sigint-after', at: nth('POST', '/instances') });
    const r = await vmCreate(w);
    expect(r.exitCode, r.stderr).toBe(130);
    const [vm] = made(w, 'instance-made');
    expect(vm).toBeDefined();
    expect(w.fake.instances.has(vm!), `${vm} is still there:\n${r.stderr}`).toBe(false);
    expect(lastLines(r.stderr, 1)).toBe('vultr-sid-iso: cancelled by SIGINT; everything this run created was removed');
  });

  it('Ctrl-C while the lists, vm delete and vm detach wait for Vultr: cancelled, exit 130, one line (not the aborted call\'s error, exit 1)', async () => {
    const w = await world();
    const iso = ourIso(w);
    const vm = w.fake.addInstance({ label: 'ours', isoId: iso.id, tags: [OUR_TAG] });
    const runs: [string[], string][] = [
      [['iso', 'list'], '/iso'],
      [['vm', 'list'], '/instances'],
      [['vm', 'delete', vm.id], '/instances/{instance-id}'],
      [['vm', 'detach', vm.id], '/instances/{instance-id}'],
    ];
    for (const [args, template] of runs) {
      w.fake.inject({ kind: 'sigint-after', at: nth('GET', template) });
      const r = await cli(w, args, {}, BOUNDED);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(130);
      expect(lastLines(r.stderr, 1), args.join(' ')).toBe('vultr-sid-iso: cancelled by SIGINT; everything this run created was removed');
      expect(r.stdout).toBe('');
    }
    expect(w.fake.instances.has(vm.id), 'the VM was deleted, though the delete was cancelled before it').toBe(true);
  });

  it('Ctrl-C while POST /iso is in flight (Vultr made the ISO): the ISO is found and removed', async () => {
    const w = await world();
    const { manifest, path } = await builtIso(w.dir, { bytes: 1 << 16 });
    // Hosted where it stays (an uploaded object would be deleted, and Vultr drop the ISO it cannot fetch).
    const base = await host(await readFile(manifest.iso.path));
    w.fake.inject({ kind: 'sigint-after', at: nth('POST', '/iso') });
    const r = await publish(w, path, ['--url', `${base}/${manifest.name}.iso`]);
    expect(r.exitCode, r.stderr).toBe(130);
    expect(made(w, 'iso-made')).toHaveLength(1);
    expect([...w.fake.isos.values()].map((i) => i.filename), r.stderr).toEqual(['my-rescue-system.iso']);
  });

  it('POST /instances made but answered 502, --label of an older VM of ours: the older VM is never adopted, detached or restarted', async () => {
    const w = await world();
    const iso = ourIso(w);
    const older = w.fake.addInstance({ label: 'web', tags: [OUR_TAG], isoId: iso.id });
    w.fake.inject({ kind: 'after-502', at: nth('POST', '/instances') });
    const r = await vmCreate(w, ['--label', 'web']);
    expect(r.exitCode, r.stderr).toBe(0);
    const [vm] = made(w, 'instance-made');
    expect(JSON.parse(r.stdout).id).toBe(vm);
    expect(made(w, 'instance-made')).toHaveLength(1);
    expect(older.isoState).toBe('attached');
    expect(w.fake.events.filter((e) => e.id === older.id)).toEqual([]);
  });

  it('POST /instances made but answered 502 while the list lags: one VM, never a duplicate', async () => {
    const w = await world('vultr-2026', { listLagMs: 300 });
    ourIso(w);
    w.fake.inject({ kind: 'after-502', at: nth('POST', '/instances') });
    const r = await vmCreate(w);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(made(w, 'instance-made')).toEqual([JSON.parse(r.stdout).id]);
  });

  it('POST /iso made but answered 502, from a presigned URL whose query Vultr keeps in the file name: found among the new ISOs, never a second one', async () => {
    const w = await world('vultr-2026', { isoFileNameKeepsQuery: true });
    const { manifest, path } = await builtIso(w.dir, { bytes: 1 << 16 });
    const base = await host(await readFile(manifest.iso.path));
    w.fake.inject({ kind: 'after-502', at: nth('POST', '/iso') });
    const r = await publish(w, path, ['--url', `${base}/${manifest.name}.iso?X-Amz-Signature=0123abcd`]);
    expect(r.exitCode, r.stderr).toBe(0);
    const [iso] = made(w, 'iso-made');
    expect(made(w, 'iso-made')).toHaveLength(1);
    expect(JSON.parse(r.stdout).isoId).toBe(iso);
    expect(w.fake.isos.get(iso!)?.filename, r.stderr).toBe(`${manifest.name}.iso?X-Amz-Signature=0123abcd`);
  });

  it('POST /iso made but answered 502, the list lagging past the settle window, and the second POST refused (the first filled the library): the first ISO is found and deleted', async () => {
    // Settle window: 10 polls of 0.1 s; the list shows the ISO only after 1.5 s.
    const w = await world('vultr-2026', { listLagMs: 1500 });
    const { path } = await builtIso(w.dir, { bytes: 1 << 16 });
    w.fake.inject({ kind: 'after-502', at: nth('POST', '/iso') });
    const r = await publish(w, path);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/refused to register/);
    expect(made(w, 'iso-made')).toHaveLength(1);
    expect([...w.fake.isos.values()].map((i) => i.filename), r.stderr).toEqual(['my-rescue-system.iso']);
  });

  it('POST /instances made but answered 502, the list lagging past the settle window: the second VM it then made is deleted at the end, the run keeps one', async () => {
    // Settle window 0.5 s, lag 1.5 s: a second POST; the run's install, detach and restart take
    // longer than the lag (the fake's minimum times), so its clean-up sees both.
    const w = await world('vultr-2026', { listLagMs: 1500 });
    ourIso(w);
    w.fake.inject({ kind: 'after-502', at: nth('POST', '/instances') });
    const r = await vmCreate(w, ['--poll-interval', '0.05']);
    expect(r.exitCode, r.stderr).toBe(0);
    const made2 = made(w, 'instance-made');
    expect(made2).toHaveLength(2);
    const kept = JSON.parse(r.stdout).id as string;
    expect([...w.fake.instances.keys()]).toEqual([kept]);
    expect(r.stderr).toContain(`deleted instance ${made2.find((id) => id !== kept)} (`);
    expect(r.stderr).toMatch(/: a second one this run made when an answer was lost/);
  });

  it('a library of ours, a good ISO and a newer one stuck pending, and the new ISO fails its check: the stuck one made room, the good one is still there', async () => {
    const w = await world('vultr-2026', { foreignIsos: [] });
    const good = ourIso(w, 'aaaaaaaaaaaa');
    const stuck = w.fake.addIso('vultr-sid-bbbbbbbbbbbb.iso', { status: 'pending' });
    stuck.date_created = new Date(Date.parse(good.date_created) + 60_000).toISOString().replace('Z', '+00:00');
    const { path } = await builtIso(w.dir, { bytes: 1 << 16 });
    w.fake.faults.wrongSha512 = true;
    const r = await publish(w, path);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/differs from ours/);
    expect([...w.fake.isos.keys()]).toEqual([good.id]);
  });

  it('a DELETE /iso that Vultr carried out, answered 502, while making room: the retry\'s 404 means done', async () => {
    const w = await world();
    const old = ourIso(w);
    const { path } = await builtIso(w.dir, { bytes: 1 << 16 });
    w.fake.inject({ kind: 'after-502', at: nth('DELETE', '/iso/{iso-id}') });
    const r = await publish(w, path);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(w.fake.isos.has(old.id)).toBe(false);
  });

  it('a DELETE /iso that Vultr carried out, answered 502, while pruning: the retry\'s 404 means done', async () => {
    const w = await world('vultr-2026', { librarySize: 10 });
    const yaml = await config(w, 'publish:\n  librarySize: 10\n  keep: 1\n');
    const old = ourIso(w);
    const { path } = await builtIso(w.dir, { bytes: 1 << 16 });
    w.fake.inject({ kind: 'after-502', at: nth('DELETE', '/iso/{iso-id}') });
    const r = await cli(w, ['publish', '--config', yaml, '--manifest', path, '--poll-interval', '0.1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).pruned).toEqual([old.filename]);
  });

  it('a DELETE /instances that Vultr carried out, answered 502, in cleanup: the VM is reported deleted', async () => {
    const w = await world('vultr-2026', { lockMs: 0, installMs: 600_000 });
    ourIso(w);
    w.fake.inject({ kind: 'after-502', at: nth('DELETE', '/instances/{instance-id}') });
    const r = await vmCreate(w, ['--timeout', '1']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/did not answer on SSH/);
    expect(r.stderr).toMatch(/deleted the unfinished instance/);
    expect(r.stderr).not.toMatch(/could not delete/);
    expect(w.fake.instances.size).toBe(0);
  });

  it('keep: 1 and the new ISO fails its sha512 check: the old good ISO is still in the library', async () => {
    const w = await world('vultr-2026', { foreignIsos: [] });
    const yaml = await config(w, 'publish:\n  keep: 1\n');
    const old = ourIso(w);
    const { path } = await builtIso(w.dir, { bytes: 1 << 16 });
    w.fake.faults.wrongSha512 = true;
    const r = await cli(w, ['publish', '--config', yaml, '--manifest', path, '--poll-interval', '0.1']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/differs from ours/);
    expect([...w.fake.isos.keys()]).toEqual([old.id]);
  });

  it('an instance whose server_status stays "none": detach, vm detach and vm delete go ahead (the lock answer decides)', async () => {
    const w = await world('vultr-2026', { reportedServerStatus: 'none' });
    const iso = ourIso(w);
    const created = await cli(w, ['vm', 'create', '--region', 'ewr', '--plan', 'vc2-1c-2gb', '--poll-interval', '0.1', '--timeout', '20'], {}, BOUNDED);
    expect(created.exitCode, created.stderr).toBe(0);
    const older = w.fake.addInstance({ label: 'older', tags: [OUR_TAG], isoId: iso.id });
    const detached = await cli(w, ['vm', 'detach', older.id, '--poll-interval', '0.1'], {}, BOUNDED);
    expect(detached.exitCode, detached.stderr).toBe(0);
    const deleted = await cli(w, ['vm', 'delete', JSON.parse(created.stdout).id, '--poll-interval', '0.1'], {}, BOUNDED);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect([...w.fake.instances.keys()]).toEqual([older.id]);
  });

  it('a 429 whose Retry-After asks for an hour: the wait is capped', async () => {
    const w = await world();
    const { path } = await builtIso(w.dir, { bytes: 1 << 16 });
    w.fake.inject({ kind: '429-retry-after', at: 1 });
    const started = Date.now();
    const r = await cli(w, ['publish', '--manifest', path, '--poll-interval', '0.1'], {}, BOUNDED);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('a second Ctrl-C during a long cleanup exits at once and still names the VM left behind', async () => {
    const w = await world('vultr-2026', { lockMs: 60_000, installMs: 600_000 });
    ourIso(w);
    // The first Ctrl-C during the install, the second on the next call (cleanup's first).
    w.fake.inject({ kind: 'sigint', at: nth('GET', '/instances/{instance-id}', 2) }, { kind: 'signal', at: () => w.fake.injectedLog.length > 0 });
    const r = await cli(w, ['vm', 'create', '--region', 'ewr', '--plan', 'vc2-1c-2gb', '--poll-interval', '0.1'], {}, BOUNDED);
    expect(r.exitCode).toBe(130);
    const [vm] = made(w, 'instance-made');
    expect(w.fake.instances.has(vm!)).toBe(true);
    expect(lastLines(r.stderr)).toContain(`vultr-sid-iso vm delete ${vm}`);
  });

  it('iso delete, the command a run names for an ISO it left: removes ours, refuses anyone else\'s or an attached one', async () => {
    const w = await world();
    const rescue = [...w.fake.isos.values()][0]!;
    const left = ourIso(w, 'cccccccccccc');
    const held = ourIso(w, 'dddddddddddd');
    w.fake.addInstance({ label: 'web', tags: [OUR_TAG], isoId: held.id });
    const removed = await cli(w, ['iso', 'delete', left.id]);
    expect(removed.exitCode, removed.stderr).toBe(0);
    const refused: [string, RegExp][] = [
      [rescue.id, /is not named vultr-sid-<hash>\.iso, so it is not ours; delete it in the Vultr console if you mean it/],
      [held.id, /is attached to an instance .*; detach it first with npx vultr-sid-iso vm detach/],
      ['no-such-iso', /the Vultr library holds no ISO no-such-iso; see npx vultr-sid-iso iso list/],
    ];
    for (const [id, message] of refused) {
      const r = await cli(w, ['iso', 'delete', id]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(lastLines(r.stderr, 1)).toMatch(message);
    }
    expect([...w.fake.isos.keys()].sort()).toEqual([rescue.id, held.id].sort());
  });

  it('vm create refuses a bad --region, --plan or --user-data (exit 2) before the first API call', async () => {
    const w = await world();
    ourIso(w);
    const cases: [string[], RegExp][] = [
      [['--region', 'New York', '--plan', 'vc2-1c-2gb'], /--region "New York" is not a Vultr region id/],
      [['--region', 'ewr', '--plan', 'vc2 1c'], /--plan "vc2 1c" is not a Vultr plan id/],
      [['--region', 'ewr', '--plan', 'vc2-1c-2gb', '--user-data', `${w.dir}/missing.yaml`], /--user-data .*missing\.yaml does not exist; pass the path of a cloud-config file/],
      [[], /no region or plan; pass --region and --plan/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(w, ['vm', 'create', ...args], {}, BOUNDED);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(lastLines(r.stderr, 1)).toMatch(message);
    }
    expect(w.fake.requests).toEqual([]);
  });

  it('--keep takes only whole numbers from 1 to 50, as publish.keep does', async () => {
    const w = await world();
    const { path } = await builtIso(w.dir, { bytes: 1 << 16 });
    for (const keep of ['1.5', '99', '0']) {
      const r = await publish(w, path, ['--keep', keep]);
      expect(r.exitCode, `--keep ${keep}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`--keep must be a whole number from 1 to 50, got "${keep}"`);
    }
    expect(w.fake.requests).toEqual([]);
  });

  it('publish --url whose file name is not <name>-<hash>.iso: refused (exit 2) before any call, saying which name to host it under', async () => {
    const w = await world();
    const { manifest, path } = await builtIso(w.dir, { bytes: 1 << 16 });
    const base = await host(await readFile(manifest.iso.path));
    const r = await publish(w, path, ['--url', `${base}/downloads/latest.iso`]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(lastLines(r.stderr, 1)).toContain(`host it under the name ${manifest.name}.iso`);
    expect(w.fake.requests).toEqual([]);
    const good = await publish(w, path, ['--url', `${base}/downloads/${manifest.name}.iso`]);
    expect(good.exitCode, good.stderr).toBe(0);
  });
});
