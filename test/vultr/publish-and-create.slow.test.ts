// publish-iso and create-vm end to end against the fake Vultr API (validated against Vultr's
// OpenAPI document) and s3rver on loopback. The test API key must appear in no output.
import { createHash, randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeVultr } from '../helpers/fake-vultr.js';
import { standinIso } from '../helpers/fixtures.js';
import { CLI, runCli, tempDir, type CliResult } from '../helpers/project.js';

const API_KEY = 'TESTKEY7Q2W3E4R5T6Y7U8I9O0PASDFGHJKLZ';
const outputs: string[] = [];
afterAll(() => {
  // Every scenario's stdout and stderr: the key appears nowhere (but in the Actions
  // ::add-mask:: command, which is how the runner learns to hide it).
  expect(outputs.length).toBeGreaterThan(1);
  for (const o of outputs) expect(o.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')).not.toContain(API_KEY);
});

async function s3(dir: string) {
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory: join(dir, 's3'), silent: true, configureBuckets: [{ name: 'isos', configs: [] }] });
  const { port } = (await server.run()) as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, close: () => server.close(), dir: join(dir, 's3') };
}

/** A built-ISO stand-in: publishing needs only the file and its manifest. */
async function builtIso(dir: string, name = `vultr-sid-${randomBytes(6).toString('hex')}`) {
  const data = randomBytes(20 << 20); // two multipart parts
  const iso = join(dir, 'out', `${name}.iso`);
  await mkdir(join(dir, 'out'), { recursive: true });
  await writeFile(iso, data);
  const manifest = {
    name,
    toolVersion: '0.1.0',
    inputsHash: 'x'.repeat(64),
    iso: { path: iso, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), sha512: createHash('sha512').update(data).digest('hex') },
    base: { source: 'test', sha512: '0'.repeat(128), verified: false, volumeId: 'test', layout: 'netinst' },
    bootEntries: [],
  };
  const path = join(dir, 'out', `${name}.json`);
  await writeFile(path, JSON.stringify(manifest));
  return { manifest, path };
}

interface World {
  dir: string;
  fake: FakeVultr;
  s3: Awaited<ReturnType<typeof s3>>;
  env: Record<string, string>;
}

async function world(): Promise<World> {
  const dir = await tempDir();
  const fake = await new FakeVultr(API_KEY).start();
  const store = await s3(dir);
  const env = {
    VULTR_API_KEY: API_KEY,
    VULTR_API_URL: fake.url,
    S3_ENDPOINT: store.endpoint,
    S3_BUCKET: 'isos',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    VULTR_SID_ISO_HTTP_BACKOFF: '0.02',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  return { dir, fake, s3: store, env };
}

async function cli(w: World, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const r = await runCli([...args, '--json'], { env: { ...w.env, ...env } });
  outputs.push(r.stdout, r.stderr);
  return r;
}

const publish = (w: World, manifest: string, extra: string[] = []) => cli(w, ['publish', '--manifest', manifest, '--poll-interval', '0.1', '--timeout', '20', ...extra]);

/** Objects left in the bucket (s3rver stores each as <key>._S3rver_object). */
async function objects(w: World): Promise<string[]> {
  const { stdout } = await execa('find', [join(w.s3.dir, 'isos'), '-type', 'f', '-name', '*._S3rver_object'], { reject: false });
  return stdout.split('\n').filter(Boolean);
}

describe('publish-iso', { timeout: 120_000 }, () => {
  it('first publish: uploads, registers, waits, verifies the sha512, records it, deletes the object', async () => {
    const w = await world();
    const { manifest, path } = await builtIso(w.dir);
    const r = await publish(w, path);
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ filename: `${manifest.name}.iso`, status: 'complete', reused: false });
    const saved = JSON.parse(await readFile(path, 'utf8'));
    expect(saved.vultr).toEqual({ isoId: result.isoId, filename: `${manifest.name}.iso`, status: 'complete' });
    expect(w.fake.isos.get(result.isoId)?.sha512sum).toBe(manifest.iso.sha512);
    expect(w.fake.downloads).toEqual([`${w.s3.endpoint}/isos/vultr-sid-iso/${manifest.name}.iso`]);
    expect(await objects(w)).toEqual([]);
    expect(w.fake.violations).toEqual([]);
    await w.s3.close();
  });

  it('republishing the same ISO reuses it and uploads nothing', async () => {
    const w = await world();
    const { manifest, path } = await builtIso(w.dir);
    expect((await publish(w, path)).exitCode).toBe(0);
    const posts = () => w.fake.requests.filter((q) => q.method === 'POST' && q.path === '/iso').length;
    const before = posts();
    const again = await publish(w, path);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ reused: true, filename: `${manifest.name}.iso` });
    expect(again.stderr).toContain('reusing it, nothing to upload');
    expect(posts()).toBe(before);
    expect(w.fake.downloads).toHaveLength(1);
    expect(w.fake.violations).toEqual([]);
    await w.s3.close();
  });

  it('survives a 429 storm (no Retry-After)', async () => {
    const w = await world();
    const { path } = await builtIso(w.dir);
    w.fake.faults.rateLimit = 6;
    const r = await publish(w, path);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(w.fake.requests.filter((q) => q.status === 429)).toHaveLength(6);
    expect(w.fake.violations).toEqual([]);
    await w.s3.close();
  });

  it('a 500 on POST /iso after the ISO was created makes no duplicate', async () => {
    const w = await world();
    const { manifest, path } = await builtIso(w.dir);
    w.fake.faults.postIso500 = 1;
    const r = await publish(w, path);
    expect(r.exitCode, r.stderr).toBe(0);
    expect([...w.fake.isos.values()].filter((i) => i.filename === `${manifest.name}.iso`)).toHaveLength(1);
    expect(r.stderr).toContain('checking whether the ISO was created anyway');
    await w.s3.close();
  });

  it('an ISO stuck in pending: a timeout error; the object and the ISO are cleaned up', async () => {
    const w = await world();
    const { path } = await builtIso(w.dir);
    w.fake.faults.stuckPending = true;
    const r = await cli(w, ['publish', '--manifest', path, '--poll-interval', '0.2', '--timeout', '2']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/timed out after 2 s waiting for Vultr to download ISO .* \(last state: pending\); raise --timeout/);
    expect(w.fake.isos.size).toBe(0);
    expect(await objects(w)).toEqual([]);
    await w.s3.close();
  });

  it('a sha512 mismatch: the ISO is deleted and the run fails', async () => {
    const w = await world();
    const { path } = await builtIso(w.dir);
    w.fake.faults.wrongSha512 = true;
    const r = await publish(w, path);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Vultr's sha512 of ISO .* differs from ours .*: the download was corrupted, so the ISO is deleted/);
    expect(w.fake.isos.size).toBe(0);
    expect(JSON.parse(await readFile(path, 'utf8')).vultr).toBeUndefined();
    await w.s3.close();
  });

  it('prunes our old ISOs, keeps an attached one with a warning naming its instance, never touches others', async () => {
    const w = await world();
    const old = [1, 2, 3, 4].map((n) => w.fake.addIso(`vultr-sid-${String(n).repeat(12)}.iso`));
    const foreign = w.fake.addIso('my-own-rescue.iso');
    const lookalike = w.fake.addIso('vultr-sid-notours.iso');
    // An instance booted from the oldest of ours.
    w.fake.instances.set('inst-1', {
      id: 'inst-1', label: 'keepme', hostname: 'h', region: 'ewr', plan: 'p', status: 'active', power_status: 'running', server_status: 'ok',
      main_ip: '192.0.2.77', v6_main_ip: '', v6_network: '', v6_network_size: 0, tags: [], date_created: old[0]!.date_created, isoId: old[0]!.id, isoState: 'attached', request: {},
    });
    const { path } = await builtIso(w.dir);
    const r = await publish(w, path, ['--keep', '2']);
    expect(r.exitCode, r.stderr).toBe(0);
    const left = [...w.fake.isos.values()].map((i) => i.filename).sort();
    const result = JSON.parse(r.stdout);
    expect(left).toEqual([old[0]!.filename, old[3]!.filename, foreign.filename, lookalike.filename, result.filename].sort());
    expect(r.stderr).toContain(`kept ${old[0]!.filename}: it is still attached to instance inst-1 (keepme)`);
    expect(result.pruned.sort()).toEqual([old[1]!.filename, old[2]!.filename].sort());
    expect(w.fake.violations).toEqual([]);
    await w.s3.close();
  });

  it('Ctrl-C while Vultr downloads: the Vultr ISO and the object are removed', async () => {
    const w = await world();
    const { path } = await builtIso(w.dir);
    w.fake.faults.stuckPending = true;
    const child = execa(process.execPath, [CLI, 'publish', '--manifest', path, '--poll-interval', '0.2'], { reject: false, env: { ...process.env, ...w.env, NO_COLOR: '1' } });
    child.stderr?.on('data', (c: Buffer) => {
      if (c.toString().includes('Vultr is downloading it')) child.kill('SIGINT');
    });
    const r = await child;
    outputs.push(String(r.stdout), String(r.stderr));
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toMatch(/deleted the unfinished ISO .* from the Vultr library/);
    expect(String(r.stderr)).toMatch(/deleted s3:\/\/isos\/vultr-sid-iso\/vultr-sid-[0-9a-f]{12}\.iso/);
    expect(w.fake.isos.size).toBe(0);
    expect(await objects(w)).toEqual([]);
    await w.s3.close();
  });

  it('a missing or rejected API key: a clear error, exit 2', async () => {
    const w = await world();
    const { path } = await builtIso(w.dir);
    const missing = await cli(w, ['publish', '--manifest', path], { VULTR_API_KEY: '' });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('VULTR_API_KEY is not set; create an API key in the Vultr portal');
    const rejected = await cli(w, ['publish', '--manifest', path], { VULTR_API_KEY: `${API_KEY}-wrong` });
    expect(rejected.exitCode).toBe(2);
    expect(rejected.stderr).toMatch(/the Vultr API rejected VULTR_API_KEY \(HTTP 401: Invalid API token\.\); check the key/);
    expect(rejected.stderr).not.toContain(`${API_KEY}-wrong`);
    await w.s3.close();
  });
});

describe('create-vm', { timeout: 120_000 }, () => {
  it('end to end: newest ISO → instance with IPv6 → install → detach → boot → the /80 it will use', async () => {
    const w = await world();
    const { path, manifest } = await builtIso(w.dir);
    expect((await publish(w, path)).exitCode).toBe(0);
    const r = await cli(w, ['vm', 'create', '--region', 'ewr', '--plan', 'vc2-1c-2gb', '--ssh-key', 'key-1', '--poll-interval', '0.1', '--timeout', '20']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const inst = w.fake.instances.get(out.id)!;
    expect(inst.request).toMatchObject({ region: 'ewr', plan: 'vc2-1c-2gb', enable_ipv6: true, sshkey_id: ['key-1'], tags: ['vultr-sid-iso'] });
    expect(inst.request).not.toHaveProperty('os_id');
    // Vultr's metadata carries the key and the hostname to cloud-init on the VM (test/cloud-init).
    expect(inst.request.hostname).toBe('debian');
    expect(r.stderr).not.toMatch(/warning/);
    expect(w.fake.isos.get(String(inst.request.iso_id))?.filename).toBe(`${manifest.name}.iso`);
    expect(inst.isoState).toBe('ready');
    expect(inst.server_status).toBe('ok'); // booted the installed system, not the installer
    expect(out).toEqual({
      id: inst.id,
      mainIp: inst.main_ip,
      v6MainIp: inst.v6_main_ip,
      v6Network: inst.v6_network,
      v6NetworkSize: 64,
      containerPrefix: `${inst.v6_network}/80`,
    });
    expect(w.fake.violations).toEqual([]);

    const list = await cli(w, ['vm', 'list']);
    expect(JSON.parse(list.stdout).map((v: { id: string }) => v.id)).toEqual([inst.id]);
    const isos = await cli(w, ['iso', 'list']);
    expect(JSON.parse(isos.stdout).map((i: { filename: string }) => i.filename)).toEqual([`${manifest.name}.iso`]);
    await w.s3.close();
  });

  it('--no-wait returns right after creation', async () => {
    const w = await world();
    w.fake.addIso('vultr-sid-aaaaaaaaaaaa.iso');
    const r = await cli(w, ['vm', 'create', '--region', 'ewr', '--plan', 'vc2-1c-2gb', '--no-wait']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(w.fake.instances.get(JSON.parse(r.stdout).id)?.isoState).toBe('attached');
    await w.s3.close();
  });
});

describe('GitHub Actions mode', { timeout: 180_000 }, () => {
  it('groups, masks, writes the job summary and the outputs; without GITHUB_ACTIONS none of it', async () => {
    const w = await world();
    const summary = join(w.dir, 'summary.md');
    const output = join(w.dir, 'output.txt');
    await writeFile(summary, '');
    await writeFile(output, '');
    const config = join(w.dir, 'presigned.yaml');
    await writeFile(config, 'publish:\n  s3:\n    access: presigned\n');
    const actions = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output };

    const built = await cli(w, ['build', '--config', config, '--base-iso', await standinIso('netinst'), '--out-dir', join(w.dir, 'out')], actions);
    expect(built.exitCode, built.stderr).toBe(0);
    const manifest = JSON.parse(built.stdout); // stdout holds only the JSON result
    const published = await cli(w, ['publish', '--config', config, '--manifest', manifest.iso.path.replace(/\.iso$/, '.json'), '--poll-interval', '0.1'], actions);
    expect(published.exitCode, published.stderr).toBe(0);
    const result = JSON.parse(published.stdout);

    expect(built.stderr).toContain(`::add-mask::${API_KEY}`);
    expect(built.stderr).toMatch(/^::group::Write ISO \(xorriso replay\)$/m);
    expect(built.stderr).toMatch(/^::endgroup::$/m);
    expect(built.stderr).toMatch(/^::warning::base ISO .* is a local file/m);
    // The presigned URL (it grants access) is masked before anything could print it.
    expect(published.stderr).toMatch(/^::add-mask::http:\/\/127\.0\.0\.1:\d+\/isos\/.*X-Amz-Signature=/m);
    for (const o of [built, published]) expect(o.stderr.split(API_KEY).length - 1, o.stderr).toBe(1); // only inside add-mask

    const table = await readFile(summary, 'utf8');
    for (const text of [manifest.name, `${(manifest.iso.size / 2 ** 20).toFixed(1)} MiB`, manifest.iso.sha256, 'Base verified', 'no (local file)', result.isoId, 'complete', 'Pruned ISOs', 'Write ISO (xorriso replay)', 'Register the ISO with Vultr']) {
      expect(table).toContain(text);
    }
    const outputs = await readFile(output, 'utf8');
    expect(outputs).toMatch(new RegExp(`^iso-path<<(ghadelimiter_[^\\n]+)\\n${manifest.iso.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n\\1$`, 'm'));
    expect(outputs).toContain(manifest.iso.sha256);
    expect(outputs).toMatch(new RegExp(`^vultr-iso-id<<(ghadelimiter_[^\\n]+)\\n${result.isoId}\\n\\1$`, 'm'));

    // A failure becomes an error annotation.
    const failed = await cli(w, ['publish', '--config', config, '--manifest', join(w.dir, 'nope.json')], actions);
    expect(failed.exitCode).toBe(2);
    expect(failed.stderr).toMatch(/^::error title=vultr-sid-iso publish::manifest .*nope\.json cannot be read/m);

    // Outside Actions: no workflow commands anywhere, and nothing appended to the files.
    const before = [await readFile(summary, 'utf8'), await readFile(output, 'utf8')];
    const plain = await cli(w, ['iso', 'list'], { GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output });
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(`${plain.stdout}${plain.stderr}`).not.toMatch(/::[a-z-]+/);
    expect([await readFile(summary, 'utf8'), await readFile(output, 'utf8')]).toEqual(before);
    await w.s3.close();
  });
});
