// The fault matrix (issue 21): publish into a full 2-ISO library and into an empty one, and
// vm create (dual-stack, and IPv6-only with its install report: issue 31), each run once for every call × every fault the fake can inject, with a list
// that lags under each fault that leaves a create's outcome unknown, and with Ctrl-C after
// every step. After each run the account and the CLI's last lines are checked against the
// contract (helpers/account-invariants.ts). A clean run of each flow first lists its calls
// (repeated polls counted once: helpers/fake-faults.ts) and its steps.
// Every run is on a fake whose GET /instances ignores its filter and returns every VM (the
// lax-filter mode, issue 30), and each create whose outcome is left unknown also runs on one
// whose filter matches nothing: what is ours is decided by the CLI, so nothing foreign is
// touched and nothing of ours is missed either way, and the CLI never asks Vultr to filter.
// The control: the old abort path (helpers/old-abort-path.ts) breaks an invariant (that the
// lax filter bites a client that trusts `?tag=` is ours-decided-here.test.ts's control).
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import S3rver from 's3rver';
import { describe, expect, it, onTestFinished } from 'vitest';
import { accountViolations, snapshot } from '../helpers/account-invariants.js';
import { atGroup, nth, POLLED, type FaultKind } from '../helpers/fake-faults.js';
import { playInstallReports } from '../helpers/fake-install-report.js';
import { FakeVultr, type Behaviour, type InstanceFilter } from '../helpers/fake-vultr.js';
import { s3FaultProxy, S3_CALLS, S3_FAULTS, type S3Call, type S3FaultKind } from '../helpers/s3-faults.js';
import { CliPool } from '../helpers/cli-pool.js';
import { ROOT, tempDir, type CliResult } from '../helpers/project.js';
import { API_KEY, builtIso, recordOutput, useVultrChecks } from '../helpers/vultr-world.js';

useVultrChecks();

const PREFIX = 'vultr-sid';
const OUR_TAG = 'vultr-sid-iso';
const OLD_ABORT_PATH = join(ROOT, 'dist/test/helpers/old-abort-path.js');
/** CLI processes at once: most of a run is waiting on polls, locks and settle windows. */
const CONCURRENCY = 5;
const POLL = ['--poll-interval', '0.05', '--timeout', '20'];
/** Shorter than the settle window (10 poll intervals: 0.5 s), as a real list's lag must be for the bound to hold. */
const LAG_MS = 200;

/** On a GET, acting changes nothing, so a lost or held answer is the same fault as a cut one. */
const READ_FAULTS: FaultKind[] = ['drop', 'refused-500', '429', '429-retry-after', 'sigint'];
const CHANGE_FAULTS: FaultKind[] = ['drop', 'refused-500', 'lost', 'timeout', 'after-502', '429', '429-retry-after', 'sigint', 'sigint-after'];
/** The faults after which a create's outcome is unknown to the client: with a lagging list too. */
const LAGGED_FAULTS: FaultKind[] = ['drop', 'lost', 'after-502', 'sigint-after'];
const CREATES = new Set(['POST /iso', 'POST /instances']);
/** The fake's GET /instances filter in every run, unless a variant says otherwise. */
const FILTER: InstanceFilter = 'lax';

interface Flow {
  name: string;
  behaviour: Partial<Behaviour>;
  /** The account as the run finds it. */
  populate(fake: FakeVultr): void | Promise<void>;
  args(dir: string): Promise<string[]>;
  /** More environment for the CLI (object storage). */
  env?: Record<string, string>;
  /** What the run left that the account checks cannot see (objects in the bucket), as problems. */
  afterRun?(args: string[]): Promise<string[]>;
  /** Its object storage calls get faults too (through helpers/s3-faults.ts). */
  s3Faults?: boolean;
}

interface Variant {
  label: string;
  group?: number;
  sig?: string;
  fault?: FaultKind;
  lagMs?: number;
  ctrlCAfter?: string;
  /** Ctrl-C after the last step: the run is over, its result stands. */
  last?: boolean;
  /** A fault on an object storage call (vm create --ipv6-only). */
  s3?: { call: S3Call; kind: S3FaultKind };
  /** How the fake's GET /instances filters (default FILTER). */
  instanceFilter?: InstanceFilter;
}

interface Row {
  flow: string;
  variant: Variant;
  problems: string[];
  /** What the account looks like afterwards, in a word: done (exit 0), removed (all the run made is gone), named (what is left is named). */
  outcome: 'done' | 'removed' | 'named';
  result: CliResult;
  /** The calls the run made, repeated polls once. */
  groups: { group: number; sig: string }[];
}

/** A loopback server where `publish --url` finds the ISO (and the fake downloads it). */
async function isoHost(): Promise<{ base: string; manifest: string; name: string }> {
  const dir = await tempDir();
  const { manifest, path } = await builtIso(dir, { bytes: 4096 });
  const bytes = await readFile(manifest.iso.path);
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Length': bytes.length });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, manifest: path, name: manifest.name };
}

/**
 * s3rver on [::1], where IPv6-only VMs send their install reports (vm create --ipv6-only).
 * Each run gets its own key prefix (publish.s3.prefix), so what one run left is told apart.
 */
async function reportStorage(scratch: string) {
  const dir = join(scratch, 's3');
  // vhostBuckets off: s3rver would take the bracketed host "[::1]" for a bucket's name.
  const server = new S3rver({ port: 0, address: '::1', directory: dir, silent: true, vhostBuckets: false, configureBuckets: [{ name: 'isos', configs: [] }] });
  const { port } = (await server.run()) as { port: number };
  onTestFinished(() => server.close());
  const env = {
    S3_ENDPOINT: `http://[::1]:${port}`,
    S3_BUCKET: 'isos',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  /** Objects left under a run's prefix. */
  const left = async (prefix: string) => {
    const { stdout } = await execa('find', [join(dir, 'isos', prefix), '-type', 'f', '-name', '*._S3rver_object'], { reject: false });
    return stdout.split('\n').filter(Boolean);
  };
  return { env, left };
}

function flows(host: Awaited<ReturnType<typeof isoHost>>, scratch: string, storage: Awaited<ReturnType<typeof reportStorage>>): Flow[] {
  let n = 0;
  /** Each run gets its own copy of the manifest: a run that publishes writes to it. */
  const manifestCopy = async () => {
    const copy = join(scratch, `run-${++n}.json`);
    await writeFile(copy, await readFile(host.manifest));
    return copy;
  };
  const foreignVm = (fake: FakeVultr) => fake.addInstance({ label: 'web', tags: [] });
  const publishArgs = async () => ['publish', '--manifest', await manifestCopy(), '--url', `${host.base}/${host.name}.iso`, ...POLL];
  return [
    {
      name: 'publish, full library',
      behaviour: { foreignIsos: [] },
      populate(fake) {
        fake.addIso(`${PREFIX}-aaaaaaaaaaaa.iso`);
        fake.addIso(`${PREFIX}-bbbbbbbbbbbb.iso`);
        foreignVm(fake);
      },
      args: publishArgs,
    },
    {
      name: 'publish, empty library',
      behaviour: { foreignIsos: [] },
      populate: foreignVm,
      args: publishArgs,
    },
    {
      name: 'vm create',
      behaviour: { foreignIsos: [], installMs: 150, lockMs: 150, rebootMs: 100 },
      populate(fake) {
        const iso = fake.addIso(`${PREFIX}-aaaaaaaaaaaa.iso`);
        // An older VM of ours with the label the run asks for, holding our ISO: never to be adopted or touched.
        fake.addInstance({ label: 'web', tags: [OUR_TAG], isoId: iso.id });
        fake.addInstance({ label: 'someone-else', tags: [] });
      },
      args: async () => ['vm', 'create', '--region', 'ewr', '--plan', 'vc2-1c-2gb', '--label', 'web', ...POLL],
    },
    {
      // The VM reports its install itself (helpers/fake-install-report.ts runs its program).
      name: 'vm create --ipv6-only',
      behaviour: { foreignIsos: [], installMs: 150, lockMs: 150, rebootMs: 100 },
      async populate(fake) {
        const iso = fake.addIso(`${PREFIX}-aaaaaaaaaaaa.iso`);
        fake.addInstance({ label: 'web', tags: [OUR_TAG], isoId: iso.id });
        fake.addInstance({ label: 'someone-else', tags: [] });
        await playInstallReports(fake);
      },
      env: storage.env,
      s3Faults: true,
      async args() {
        const prefix = `run-${++n}`;
        const config = join(scratch, `${prefix}.yaml`);
        await writeFile(config, `publish:\n  s3:\n    prefix: ${prefix}\n`);
        return ['vm', 'create', '--config', config, '--ipv6-only', '--region', 'ewr', '--plan', 'vc2-1c-2gb', '--label', 'web', ...POLL];
      },
      async afterRun(args) {
        const prefix = basename(args[args.indexOf('--config') + 1]!, '.yaml');
        return (await storage.left(prefix)).map((o) => `the install report object ${o} is still in the bucket`);
      },
    },
  ];
}

const SIGNALLED: FaultKind[] = ['sigint', 'sigint-after'];

/** One run of a flow under one fault, on an account of its own; the contract checked after it. */
async function runOne(cli: CliPool, flow: Flow, variant: Variant, dir: string): Promise<Row> {
  const fake = await new FakeVultr(API_KEY, 'vultr-2026', { ...flow.behaviour, listLagMs: variant.lagMs ?? 0, instanceFilter: variant.instanceFilter ?? FILTER }).start();
  try {
    await flow.populate(fake);
    if (variant.fault) fake.inject({ kind: variant.fault, at: atGroup(variant.group!) });
    const before = snapshot(fake);
    const args = await flow.args(dir);
    // Object storage through a proxy that may put one fault on one call.
    const proxy = flow.s3Faults ? await s3FaultProxy(flow.env!.S3_ENDPOINT!, variant.s3, () => fake.signalTarget) : undefined;
    const job = {
      args: [...args, '--json'],
      env: {
        ...flow.env,
        ...(proxy ? { S3_ENDPOINT: proxy.endpoint } : {}),
        VULTR_API_KEY: API_KEY,
        VULTR_API_URL: fake.url,
        VULTR_SID_ISO_HTTP_BACKOFF: '0.02',
        VULTR_SID_ISO_SSH_PORT: String(fake.sshPort),
        // The fake's IPv6 addresses are 2001:db8:: ones: never dialled (the pool's guard checks).
        VULTR_SID_ISO_IPV6_REACH: 'no',
        NO_COLOR: '1',
        // Only a held answer needs the client's timeout to be short.
        ...(variant.fault === 'timeout' ? { VULTR_SID_ISO_HTTP_TIMEOUT: '1.5' } : {}),
      },
      ctrlCAfter: variant.ctrlCAfter,
    };
    const result = await cli.run(job, { onStart: (pid) => (fake.signalTarget = pid), timeoutMs: 120_000 });
    recordOutput(result.stdout, result.stderr);
    const cancelled = (variant.fault !== undefined && SIGNALLED.includes(variant.fault)) || (variant.ctrlCAfter !== undefined && !variant.last) || variant.s3?.kind === 'sigint';
    const problems = accountViolations(fake, before, result, { prefix: PREFIX, exitCodes: [cancelled ? 130 : 0] });
    problems.push(...((await flow.afterRun?.(args)) ?? []));
    if (variant.s3 && !proxy?.landed) problems.push(`the object storage fault never landed (calls: ${proxy?.calls.join(', ')})`);
    if (fake.pendingFaults.length) problems.push(`the fault never landed (calls: ${fake.log.calls.map((c) => c.sig).join(', ')})`);
    if (fake.instanceFilterQueries.length) problems.push(`GET /instances was asked to filter (${fake.instanceFilterQueries.join(', ')}): what is ours must be decided by the CLI`);
    if (variant.ctrlCAfter && !result.stderr.includes(`✔ ${variant.ctrlCAfter} (`)) problems.push(`the step "${variant.ctrlCAfter}" never finished`);
    const left = fake.events.filter((e) => (e.kind === 'iso-made' && fake.isos.has(e.id)) || (e.kind === 'instance-made' && fake.instances.has(e.id)));
    const outcome = result.exitCode === 0 ? 'done' : left.length ? 'named' : 'removed';
    return { flow: flow.name, variant, problems, outcome, result, groups: fake.log.groups() };
  } finally {
    await fake.stop();
  }
}

async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    }),
  );
  return out;
}

function variantsFor(groups: { group: number; sig: string }[], steps: string[], flow: Flow): Variant[] {
  const out: Variant[] = [];
  if (flow.s3Faults) for (const call of S3_CALLS) for (const kind of S3_FAULTS) out.push({ label: `object storage ${call}: ${kind}`, s3: { call, kind } });
  for (const { group, sig } of groups) {
    const changes = !sig.startsWith('GET ');
    for (const fault of changes ? CHANGE_FAULTS : READ_FAULTS) out.push({ label: `${sig} #${group}: ${fault}`, group, sig, fault });
    if (CREATES.has(sig)) for (const fault of LAGGED_FAULTS) out.push({ label: `${sig} #${group}: ${fault}, list lagging ${LAG_MS} ms`, group, sig, fault, lagMs: LAG_MS });
    // Finding what an unanswered create made is a list of instances: also with a filter that matches nothing.
    if (sig === 'POST /instances') for (const fault of LAGGED_FAULTS) out.push({ label: `${sig} #${group}: ${fault}, tag filter matching nothing`, group, sig, fault, instanceFilter: 'matches-nothing' });
  }
  out.push({ label: `no fault, list lagging ${LAG_MS} ms`, lagMs: LAG_MS });
  steps.forEach((step, i) => out.push({ label: `Ctrl-C after "${step}"`, ctrlCAfter: step, last: i === steps.length - 1 }));
  return out;
}

/** The printed matrix: a line per call, a column per fault. */
function table(flow: string, rows: Row[], groups: { group: number; sig: string }[]): string {
  const faults = [...CHANGE_FAULTS];
  const mark = (row?: Row) => (!row ? '·' : row.problems.length ? '✖' : { done: '0', removed: 'R', named: 'N' }[row.outcome]);
  const cell = (g: number, f: FaultKind, lag = false, filter: InstanceFilter = FILTER) =>
    mark(rows.find((r) => r.variant.group === g && r.variant.fault === f && Boolean(r.variant.lagMs) === lag && (r.variant.instanceFilter ?? FILTER) === filter));
  const lines = [`${flow}:`, `  ${'call'.padEnd(34)} ${faults.map((f) => f.padEnd(15)).join(' ')}`];
  for (const { group, sig } of groups) {
    lines.push(`  ${`${group} ${sig}`.padEnd(34)} ${faults.map((f) => cell(group, f).padEnd(15)).join(' ')}`);
    if (CREATES.has(sig)) lines.push(`  ${'  …with a lagging list'.padEnd(34)} ${faults.map((f) => (LAGGED_FAULTS.includes(f) ? cell(group, f, true) : '·').padEnd(15)).join(' ')}`);
    if (sig === 'POST /instances') lines.push(`  ${'  …with a filter matching nothing'.padEnd(34)} ${faults.map((f) => (LAGGED_FAULTS.includes(f) ? cell(group, f, false, 'matches-nothing') : '·').padEnd(15)).join(' ')}`);
  }
  for (const r of rows.filter((r) => !r.variant.fault)) lines.push(`  ${r.variant.label}: ${mark(r)}`);
  return lines.join('\n');
}

describe('the fault matrix', () => {
  it('publish (full and empty library) and vm create (dual-stack and IPv6-only): every call × every fault, and Ctrl-C after every step, keep the contract', { timeout: 900_000 }, async () => {
    const started = Date.now();
    const scratch = await tempDir();
    const all = flows(await isoHost(), scratch, await reportStorage(scratch));
    // Clean runs: each must keep the contract and succeed, and each tells its flow's calls and steps.
    const cli = new CliPool(CONCURRENCY);
    onTestFinished(() => cli.close());
    const clean = await Promise.all(all.map((flow) => runOne(cli, flow, { label: 'no fault' }, scratch)));
    for (const row of clean) expect(row.problems, `${row.flow}, no fault:\n${row.result.stderr}`).toEqual([]);
    const shapes = clean.map((row) => ({ groups: row.groups, steps: [...row.result.stderr.matchAll(/^✔ (.+?) \([\d.]+ m?s\)/gm)].map((m) => m[1]!) }));
    // A change that is polled would be counted once by its group, and a fault at it land by chance.
    for (const { groups } of shapes) for (const { sig } of groups) expect(sig.startsWith('GET ') || !POLLED.has(sig), sig).toBe(true);
    const plan = all.flatMap((flow, i) => variantsFor(shapes[i]!.groups, shapes[i]!.steps, flow).map((variant) => ({ flow, variant })));
    const rows = await pool(plan, CONCURRENCY, ({ flow, variant }) => runOne(cli, flow, variant, scratch));
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const failed = rows.filter((r) => r.problems.length);
    console.log(
      [
        `fault matrix: ${rows.length + clean.length} runs (${clean.length} without a fault) in ${seconds} s, GET /instances ${FILTER} unless a line says otherwise; ${failed.length} broke the contract`,
        '(0: done, exit 0; R: cancelled, everything the run made removed; N: cancelled, what is left named with its removal command; ✖: broke the contract; ·: not run)',
        ...all.map((flow, i) => table(flow.name, rows.filter((r) => r.flow === flow.name), shapes[i]!.groups)),
      ].join('\n'),
    );
    expect(
      failed.map((r) => `${r.flow} / ${r.variant.label}: ${r.problems.join('; ')}\n${r.result.stderr.trimEnd().split('\n').slice(-6).join('\n')}`),
    ).toEqual([]);
    expect(cli.refusedDials(), 'connections a run tried to make beyond loopback').toEqual([]);
    // Every call of every flow got every fault.
    for (const [i, flow] of all.entries()) {
      for (const { group, sig } of shapes[i]!.groups) {
        const got = rows.filter((r) => r.flow === flow.name && r.variant.group === group && !r.variant.lagMs && !r.variant.instanceFilter).map((r) => r.variant.fault);
        expect(got.sort(), `${flow.name} ${sig}`).toEqual([...(sig.startsWith('GET ') ? READ_FAULTS : CHANGE_FAULTS)].sort());
      }
      // …and every object storage call every fault there.
      if (flow.s3Faults) expect(rows.filter((r) => r.flow === flow.name && r.variant.s3).length, flow.name).toBe(S3_CALLS.length * S3_FAULTS.length);
    }
  });

  it('controls: each invariant fails on an account (or a last line) that breaks it', () => {
    // Accounts that are never served (no server, and no guest that would answer SSH).
    const account = () => {
      const fake = new FakeVultr(API_KEY, 'vultr-2026', { foreignIsos: ['rescue.iso'] });
      const good = fake.addIso(`${PREFIX}-aaaaaaaaaaaa.iso`);
      const older = fake.addInstance({ label: 'web', tags: [OUR_TAG], guest: 'off' });
      return { fake, good, older, before: snapshot(fake) };
    };
    const ok = { exitCode: 0, stdout: '{"id":"x","isoId":"y"}', stderr: '' };
    const check = (fake: FakeVultr, before: ReturnType<typeof snapshot>, outcome = ok) => accountViolations(fake, before, outcome, { prefix: PREFIX, exitCodes: [0] });
    const made = (fake: FakeVultr, n: number) => {
      for (let i = 0; i < n; i++) {
        const vm = fake.addInstance({ label: 'new', tags: [OUR_TAG], guest: 'off' });
        fake.events.push({ kind: 'instance-made', id: vm.id, call: 1 });
      }
    };

    const a = account();
    expect(check(a.fake, a.before)).toEqual([]);
    made(a.fake, 2);
    expect(check(a.fake, a.before).join('\n')).toMatch(/2 VMs were made .*\n.*neither the result nor named/);

    const b = account();
    const rescue = [...b.fake.isos.values()].find((i) => i.filename === 'rescue.iso')!;
    b.fake.isos.delete(rescue.id);
    b.fake.events.push({ kind: 'iso-deleted', id: rescue.id, call: 1 });
    expect(check(b.fake, b.before)).toEqual(['rescue.iso, there before and not ours to prune, was deleted']);

    const c = account();
    c.fake.events.push({ kind: 'iso-detached', id: c.older.id, call: 1 });
    expect(check(c.fake, c.before)).toEqual([`instance ${c.older.id}, there before, was touched (iso-detached)`]);

    const d = account();
    d.fake.isos.delete(d.good.id);
    d.fake.events.push({ kind: 'iso-deleted', id: d.good.id, call: 1 });
    expect(check(d.fake, d.before)).toEqual(['the library held a good ISO of ours and holds none now']);

    const e = account();
    expect(check(e.fake, e.before, { exitCode: 1, stdout: '', stderr: 'vultr-sid-iso: it broke\n' })).toEqual([
      'exit 1, not 0',
      'the last line is not one sentence saying what and what to do: vultr-sid-iso: it broke',
    ]);
  });

  it('control: the old abort path (Ctrl-C while POST /instances is in flight) breaks an invariant', { timeout: 120_000 }, async () => {
    const fake = await new FakeVultr(API_KEY, 'vultr-2026', { foreignIsos: [] }).start();
    fake.addIso(`${PREFIX}-aaaaaaaaaaaa.iso`);
    fake.inject({ kind: 'sigint-after', at: nth('POST', '/instances') });
    const before = snapshot(fake);
    const child = execa(process.execPath, [OLD_ABORT_PATH], { reject: false, cwd: ROOT, env: { VULTR_API_KEY: API_KEY, VULTR_API_URL: fake.url, NO_COLOR: '1' } });
    fake.signalTarget = child.pid;
    const r = await child;
    const outcome = { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
    recordOutput(outcome.stdout, outcome.stderr);
    expect(fake.pendingFaults).toEqual([]);
    expect(outcome.stderr).toContain('cancelled by SIGINT; everything this run created was removed');
    const [vm] = fake.events.filter((e) => e.kind === 'instance-made').map((e) => e.id);
    expect(accountViolations(fake, before, outcome, { prefix: PREFIX, exitCodes: [130] })).toEqual([
      `${vm}, made by the run, is still there and neither the result nor named with "vultr-sid-iso vm delete ${vm}" in the last lines`,
    ]);
  });
});

