// What the Vultr tests share: the fake Vultr (a behaviour profile each), s3rver on loopback,
// a built-ISO stand-in, and the CLI run against them. The test API key must appear in no
// output, no fake may have seen a violation of Vultr's OpenAPI document, and no CLI run may
// have dialled anything but loopback (loopback-guard.ts, loaded into every run through the
// world's environment): all checked after every test (useVultrChecks). The world also tells
// the CLI that this machine cannot reach IPv6 (VULTR_SID_ISO_IPV6_REACH=no), so that it never
// looks for a banner on the fake's 2001:db8:: addresses; a test may say otherwise for a run.
import { createHash, randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, afterEach, expect, onTestFinished } from 'vitest';
import { FakeVultr, type Behaviour, type Profile } from './fake-vultr.js';
import { guardedEnv, refusedDials } from './loopback-only.js';
import { runCli, tempDir, type CliResult } from './project.js';

export const API_KEY = 'TESTKEY7Q2W3E4R5T6Y7U8I9O0PASDFGHJKLZ';

const outputs: string[] = [];
const fakes: FakeVultr[] = [];
/** The dial logs of the worlds made since the last check. */
const dialLogs: string[] = [];

/** After every test: no OpenAPI violation; after the file: the key in no output. */
export function useVultrChecks(): void {
  afterEach(() => {
    const seen = fakes.splice(0).flatMap((f) => f.violations);
    expect(seen, 'requests or answers that break Vultr\'s OpenAPI document').toEqual([]);
    const dialled = dialLogs.splice(0).flatMap(refusedDials);
    expect(dialled, 'connections a CLI run tried to make to an address that is not loopback').toEqual([]);
  });
  afterAll(() => {
    // Every scenario's stdout and stderr: the key appears nowhere (but in the Actions
    // ::add-mask:: command, which is how the runner learns to hide it).
    expect(outputs.length).toBeGreaterThan(1);
    for (const o of outputs) expect(o.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')).not.toContain(API_KEY);
  });
}

/** Output of a CLI run that did not go through `cli` (e.g. one killed with Ctrl-C), for the key check. */
export function recordOutput(...texts: string[]): void {
  outputs.push(...texts);
}

async function s3(dir: string) {
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory: join(dir, 's3'), silent: true, configureBuckets: [{ name: 'isos', configs: [] }] });
  const { port } = (await server.run()) as { port: number };
  onTestFinished(() => server.close());
  return { endpoint: `http://127.0.0.1:${port}`, dir: join(dir, 's3') };
}

export interface World {
  dir: string;
  fake: FakeVultr;
  s3: Awaited<ReturnType<typeof s3>>;
  env: Record<string, string>;
}

export async function world(profile: Profile = 'vultr-2026', overrides: Partial<Behaviour> = {}, fake?: FakeVultr): Promise<World> {
  const dir = await tempDir();
  const vultr = await (fake ?? new FakeVultr(API_KEY, profile, overrides)).start();
  fakes.push(vultr);
  const store = await s3(dir);
  const dials = join(dir, 'refused-dials.log');
  dialLogs.push(dials);
  const env = {
    ...guardedEnv(dials),
    VULTR_SID_ISO_IPV6_REACH: 'no',
    VULTR_API_KEY: API_KEY,
    VULTR_API_URL: vultr.url,
    S3_ENDPOINT: store.endpoint,
    S3_BUCKET: 'isos',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    VULTR_SID_ISO_HTTP_BACKOFF: '0.02',
    VULTR_SID_ISO_SSH_PORT: String(vultr.sshPort),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  return { dir, fake: vultr, s3: store, env };
}

/** A built-ISO stand-in: publishing needs only the file and its manifest. */
export async function builtIso(dir: string, options: { name?: string; bytes?: number; verified?: boolean } = {}) {
  const name = options.name ?? `vultr-sid-${randomBytes(6).toString('hex')}`;
  const data = randomBytes(options.bytes ?? 20 << 20); // default: two multipart parts
  const iso = join(dir, 'out', `${name}.iso`);
  await mkdir(join(dir, 'out'), { recursive: true });
  await writeFile(iso, data);
  const manifest = {
    name,
    toolVersion: '0.1.0',
    inputsHash: 'x'.repeat(64),
    iso: { path: iso, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), sha512: createHash('sha512').update(data).digest('hex') },
    base: {
      source: 'https://cdimage.debian.org/test.iso',
      sha512: '0'.repeat(128),
      ...(options.verified === false ? { verified: false } : { verified: true, signer: 'DF9B9C49EAA9298432589D76DA87E80D6294BE9B' }),
      volumeId: 'test',
      layout: 'netinst',
    },
    bootEntries: [],
  };
  const path = join(dir, 'out', `${name}.json`);
  await writeFile(path, JSON.stringify(manifest));
  return { manifest, path };
}

/** The CLI with --json against the world; the fake knows its pid (for Ctrl-C faults). */
export async function cli(w: World, args: string[], env: Record<string, string> = {}, options: { timeout?: number } = {}): Promise<CliResult> {
  const r = await runCli([...args, '--json'], { env: { ...w.env, ...env }, onSpawn: (pid) => (w.fake.signalTarget = pid), ...options });
  outputs.push(r.stdout, r.stderr);
  return r;
}

export const publish = (w: World, manifest: string, extra: string[] = []) => cli(w, ['publish', '--manifest', manifest, '--poll-interval', '0.1', '--timeout', '20', ...extra]);

export const vmCreate = (w: World, extra: string[] = []) => cli(w, ['vm', 'create', '--region', 'ewr', '--plan', 'vc2-1c-2gb', '--poll-interval', '0.1', '--timeout', '20', ...extra]);

/** Objects left in the bucket (s3rver stores each as <key>._S3rver_object). */
export async function objects(w: World): Promise<string[]> {
  const { stdout } = await execa('find', [join(w.s3.dir, 'isos'), '-type', 'f', '-name', '*._S3rver_object'], { reject: false });
  return stdout.split('\n').filter(Boolean);
}

/** A config file in the world's directory. */
export async function config(w: World, yaml: string): Promise<string> {
  const path = join(w.dir, `config-${randomBytes(3).toString('hex')}.yaml`);
  await writeFile(path, yaml);
  return path;
}
