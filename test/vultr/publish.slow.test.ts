// publish end to end against the fake Vultr API (checked against Vultr's OpenAPI document,
// behaving as real accounts do: docs/publishing.md, "How Vultr really behaves") and s3rver on
// loopback, under both behaviour profiles.
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FakeVultr, type Profile } from '../helpers/fake-vultr.js';
import { CLI } from '../helpers/project.js';
import { API_KEY, builtIso, cli, config, objects, publish, recordOutput, useVultrChecks, world } from '../helpers/vultr-world.js';

useVultrChecks();

const PROFILES: Profile[] = ['vultr-2026', 'power-offs-register'];
const posts = (fake: FakeVultr) => fake.requests.filter((q) => q.method === 'POST' && q.path === '/iso').length;

describe.each(PROFILES)('publish (%s)', { timeout: 180_000 }, (profile) => {
  it('first publish: uploads, registers, waits, verifies the sha512, records it, deletes the object', async () => {
    const w = await world(profile);
    const { manifest, path } = await builtIso(w.dir);
    const r = await publish(w, path);
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ filename: `${manifest.name}.iso`, status: 'complete', reused: false, pruned: [] });
    const saved = JSON.parse(await readFile(path, 'utf8'));
    expect(saved.vultr).toEqual({ isoId: result.isoId, filename: `${manifest.name}.iso`, status: 'complete' });
    expect(w.fake.isos.get(result.isoId)?.sha512sum).toBe(manifest.iso.sha512);
    // A presigned URL (the default) under an unguessable key, which no output shows.
    expect(w.fake.downloads).toHaveLength(1);
    const [, random] = new RegExp(`^${w.s3.endpoint}/isos/vultr-sid-iso/([0-9a-f]{32})/${manifest.name}\\.iso\\?.*X-Amz-Signature=`).exec(w.fake.downloads[0]!) ?? [];
    expect(random).toBeDefined();
    expect(`${r.stdout}${r.stderr}`).not.toContain(random);
    expect(r.stderr).toContain(`s3://isos/vultr-sid-iso/***/${manifest.name}.iso`);
    expect(await objects(w)).toEqual([]);
    // The foreign ISO the library already held is untouched.
    expect([...w.fake.isos.values()].map((i) => i.filename).sort()).toEqual([`${manifest.name}.iso`, 'my-rescue-system.iso'].sort());
  });

  it('republishing the same ISO reuses it and uploads nothing', async () => {
    const w = await world(profile);
    const { manifest, path } = await builtIso(w.dir);
    expect((await publish(w, path)).exitCode).toBe(0);
    const before = posts(w.fake);
    const again = await publish(w, path);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ reused: true, filename: `${manifest.name}.iso` });
    expect(again.stderr).toContain('reusing it, nothing to upload');
    expect(posts(w.fake)).toBe(before);
    expect(w.fake.downloads).toHaveLength(1);
  });

  it('ten nightly publishes in a row into the 2-ISO library: each leaves the newest, never touches the foreign ISO', async () => {
    const w = await world(profile);
    const foreign = [...w.fake.isos.values()][0]!;
    for (let night = 1; night <= 10; night++) {
      const { manifest, path } = await builtIso(w.dir, { bytes: 1 << 20 });
      const r = await publish(w, path);
      expect(r.exitCode, `night ${night}: ${r.stderr}`).toBe(0);
      const left = [...w.fake.isos.values()];
      expect(left.map((i) => i.filename).sort(), `night ${night}`).toEqual([`${manifest.name}.iso`, foreign.filename].sort());
      expect(left.find((i) => i.id === foreign.id)).toEqual(foreign);
      if (night > 1) expect(JSON.parse(r.stdout).pruned).toHaveLength(1);
    }
    // Room was made before each registration: Vultr never had to refuse one.
    expect(w.fake.requests.filter((q) => q.path === '/iso' && q.method === 'POST' && q.status >= 400)).toEqual([]);
  });

  it('our older ISO attached to a VM fills the library: a clear error naming the VM and how to detach it, before any upload', async () => {
    const w = await world(profile);
    const older = w.fake.addIso('vultr-sid-0123456789ab.iso');
    const vm = w.fake.addInstance({ label: 'web-1', isoId: older.id, tags: ['vultr-sid-iso'] });
    const { path } = await builtIso(w.dir);
    const r = await publish(w, path);
    expect(r.exitCode).toBe(1);
    const line = r.stderr.trimEnd().split('\n').at(-1)!;
    expect(line).toContain(`the Vultr ISO library holds 2 of 2: vultr-sid-0123456789ab.iso (ours, attached to instance ${vm.id} (web-1, ${vm.main_ip})), my-rescue-system.iso (not ours)`);
    expect(line).toContain(`detach ours with \`npx vultr-sid-iso vm detach ${vm.id}\``);
    expect(posts(w.fake)).toBe(0);
    expect(await objects(w)).toEqual([]);
    expect(w.fake.isos.has(older.id)).toBe(true);
  });

  it('a refusal from Vultr (the library fuller than publish.librarySize says) names what fills it', async () => {
    const w = await world(profile);
    const yaml = await config(w, 'publish:\n  librarySize: 5\n');
    w.fake.addIso('someone-elses.iso');
    const { path } = await builtIso(w.dir, { bytes: 1 << 20 });
    const r = await cli(w, ['publish', '--config', yaml, '--manifest', path, '--poll-interval', '0.1']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Vultr refused to register vultr-sid-[0-9a-f]{12}\.iso \(HTTP 400: Unable to create ISO: .*\); the library holds 2 of 5: someone-elses\.iso \(not ours\), my-rescue-system\.iso \(not ours\); delete an ISO that is not ours in the Vultr console/);
    expect(await objects(w)).toEqual([]);
  });

  it('prunes to publish.keep in a larger library, keeps an attached one with a warning naming its instance, never touches others', async () => {
    const w = await world(profile, { librarySize: 10 });
    const yaml = await config(w, 'publish:\n  librarySize: 10\n');
    const old = [1, 2, 3, 4].map((n) => w.fake.addIso(`vultr-sid-${String(n).repeat(12)}.iso`));
    const lookalike = w.fake.addIso('vultr-sid-notours.iso');
    const vm = w.fake.addInstance({ label: 'keepme', isoId: old[0]!.id });
    const { path } = await builtIso(w.dir, { bytes: 1 << 20 });
    const r = await cli(w, ['publish', '--config', yaml, '--manifest', path, '--poll-interval', '0.1']);
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    const left = [...w.fake.isos.values()].map((i) => i.filename).sort();
    expect(left).toEqual([old[0]!.filename, old[3]!.filename, 'my-rescue-system.iso', lookalike.filename, result.filename].sort());
    expect(r.stderr).toContain(`kept ${old[0]!.filename}: it is still attached to instance ${vm.id} (keepme, ${vm.main_ip}); detach it with npx vultr-sid-iso vm detach ${vm.id}`);
    expect(result.pruned.sort()).toEqual([old[1]!.filename, old[2]!.filename].sort());
    expect(result.keptAttached).toEqual([old[0]!.filename]);
  });

  it('survives a 429 storm (no Retry-After)', async () => {
    const w = await world(profile);
    const { path } = await builtIso(w.dir);
    w.fake.faults.rateLimit = 6;
    const r = await publish(w, path);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(w.fake.requests.filter((q) => q.status === 429)).toHaveLength(6);
  });

  it('a 500 on POST /iso after the ISO was created makes no duplicate', async () => {
    const w = await world(profile);
    const { manifest, path } = await builtIso(w.dir);
    w.fake.faults.postIso500 = 1;
    const r = await publish(w, path);
    expect(r.exitCode, r.stderr).toBe(0);
    expect([...w.fake.isos.values()].filter((i) => i.filename === `${manifest.name}.iso`)).toHaveLength(1);
    expect(r.stderr).toContain('checking whether the ISO was created anyway');
  });

  it('an ISO stuck in pending: a timeout error; the object and the ISO are cleaned up', async () => {
    const w = await world(profile);
    const { path } = await builtIso(w.dir);
    w.fake.faults.stuckPending = true;
    const r = await cli(w, ['publish', '--manifest', path, '--poll-interval', '0.2', '--timeout', '2']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/timed out after 2 s waiting for Vultr to download ISO .* \(last state: pending\); raise --timeout/);
    expect([...w.fake.isos.values()].map((i) => i.filename)).toEqual(['my-rescue-system.iso']);
    expect(await objects(w)).toEqual([]);
  });

  it('a sha512 mismatch: the ISO is deleted and the run fails', async () => {
    const w = await world(profile);
    const { path } = await builtIso(w.dir);
    w.fake.faults.wrongSha512 = true;
    const r = await publish(w, path);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Vultr's sha512 of ISO .* differs from ours .*: the download was corrupted, so the ISO is deleted/);
    expect([...w.fake.isos.values()].map((i) => i.filename)).toEqual(['my-rescue-system.iso']);
    expect(JSON.parse(await readFile(path, 'utf8')).vultr).toBeUndefined();
  });

  it('--url that redirects: refused before Vultr is asked, naming the final URL (Vultr does not follow redirects)', async () => {
    const w = await world(profile);
    const { manifest, path } = await builtIso(w.dir, { bytes: 1 << 20 });
    const iso = `${manifest.name}.iso`;
    const server = createServer((req, res) => {
      if (req.url === `/moved/${iso}`) return res.writeHead(302, { Location: `/final/${iso}` }).end();
      if (req.url === `/signed/${iso}`) return res.writeHead(302, { Location: `/final/${iso}?X-Amz-Signature=abc` }).end();
      res.writeHead(200, { 'Content-Length': manifest.iso.size }).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const r = await publish(w, path, ['--url', `${base}/moved/${iso}`]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`--url ${base}/moved/${iso} redirects (HTTP 302), and Vultr does not follow redirects; pass the final URL instead: ${base}/final/${iso}`);
    // A signed target is not printed whole.
    const signed = await publish(w, path, ['--url', `${base}/signed/${iso}`]);
    expect(signed.exitCode).toBe(2);
    expect(signed.stderr).toContain(`pass the final URL instead: ${base}/final/${iso}?… (its query string not shown: it may carry a signature)`);
    expect(signed.stderr).not.toContain('X-Amz-Signature=abc');
    expect(posts(w.fake)).toBe(0);
  });

  it('Ctrl-C while Vultr downloads: the Vultr ISO and the object are removed', async () => {
    const w = await world(profile);
    const { path } = await builtIso(w.dir);
    w.fake.faults.stuckPending = true;
    const child = execa(process.execPath, [CLI, 'publish', '--manifest', path, '--poll-interval', '0.2'], { reject: false, env: { ...process.env, ...w.env, NO_COLOR: '1' } });
    child.stderr?.on('data', (c: Buffer) => {
      if (c.toString().includes('Vultr is downloading it')) child.kill('SIGINT');
    });
    const r = await child;
    recordOutput(String(r.stdout), String(r.stderr));
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toMatch(/deleted the unfinished ISO .* from the Vultr library/);
    expect(String(r.stderr)).toMatch(/deleted s3:\/\/isos\/vultr-sid-iso\/\*\*\*\/vultr-sid-[0-9a-f]{12}\.iso/);
    expect([...w.fake.isos.values()].map((i) => i.filename)).toEqual(['my-rescue-system.iso']);
    expect(await objects(w)).toEqual([]);
  });

  it('--trace writes every API answer as JSON lines, without the key', async () => {
    const w = await world(profile);
    const { path } = await builtIso(w.dir, { bytes: 1 << 20 });
    const trace = `${w.dir}/publish.trace`;
    const r = await publish(w, path, ['--trace', trace]);
    expect(r.exitCode, r.stderr).toBe(0);
    const text = await readFile(trace, 'utf8');
    expect(text).not.toContain(API_KEY);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe(w.fake.requests.length);
    expect(lines.every((l) => typeof l.t === 'string' && l.kind === 'api')).toBe(true);
    expect(lines.filter((l) => l.method === 'POST' && l.path === '/iso')).toEqual([expect.objectContaining({ status: 201, body: { iso: expect.objectContaining({ status: 'pending' }) } })]);
    expect(lines.some((l) => l.body?.iso?.status === 'complete')).toBe(true);
  });

  it('an ISO built from an unverified base image: refused (exit 2) unless --allow-unverified', async () => {
    const w = await world(profile);
    const { path } = await builtIso(w.dir, { bytes: 1 << 20, verified: false });
    const refused = await publish(w, path);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('says its ISO was built from a base image whose origin was not verified (https://cdimage.debian.org/test.iso); build from Debian\'s signed image');
    expect(w.fake.requests).toEqual([]);
    const allowed = await publish(w, path, ['--allow-unverified']);
    expect(allowed.exitCode, allowed.stderr).toBe(0);
  });

  it('public-read: a plain URL under an unguessable key, and neither is printed', async () => {
    const w = await world(profile);
    const yaml = await config(w, 'publish:\n  s3:\n    access: public-read\n');
    const { manifest, path } = await builtIso(w.dir, { bytes: 1 << 20 });
    const r = await cli(w, ['publish', '--config', yaml, '--manifest', path, '--poll-interval', '0.1', '--keep-object']);
    expect(r.exitCode, r.stderr).toBe(0);
    const [url] = w.fake.downloads;
    expect(url).toMatch(new RegExp(`^${w.s3.endpoint}/isos/vultr-sid-iso/[0-9a-f]{32}/${manifest.name}\\.iso$`));
    expect(`${r.stdout}${r.stderr}`).not.toContain(url!.split('/').at(-2));
  });

  it('a missing or rejected API key: a clear error, exit 2', async () => {
    const w = await world(profile);
    const { path } = await builtIso(w.dir);
    const missing = await cli(w, ['publish', '--manifest', path], { VULTR_API_KEY: '' });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('VULTR_API_KEY is not set; create an API key in the Vultr portal');
    const rejected = await cli(w, ['publish', '--manifest', path], { VULTR_API_KEY: `${API_KEY}-wrong` });
    expect(rejected.exitCode).toBe(2);
    expect(rejected.stderr).toMatch(/the Vultr API rejected VULTR_API_KEY \(HTTP 401: Invalid API token\.\); check the key/);
    expect(rejected.stderr).not.toContain(`${API_KEY}-wrong`);
  });
});

/**
 * A host that answers as S3 does for a URL presigned for GET: HEAD is refused with 403 (SigV4
 * signs the method), GET is served, and Range honoured (206 with Content-Range). `total`
 * claims another size in Content-Range; `refuseAll` refuses GET too (an expired signature).
 */
async function presignedHost(data: Buffer, options: { total?: number; refuseAll?: boolean } = {}) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    requests.push(`${req.method}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    if (req.method !== 'GET' || options.refuseAll) return res.writeHead(403, { 'Content-Type': 'application/xml' }).end();
    if (!range) return res.writeHead(200, { 'Content-Length': data.length }).end(data);
    const part = data.subarray(Number(range[1]), Number(range[2]) + 1);
    res.writeHead(206, { 'Content-Length': part.length, 'Content-Range': `bytes ${range[1]}-${range[2]}/${options.total ?? data.length}` }).end(part);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const SIGNED = '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=21600&X-Amz-SignedHeaders=host&X-Amz-Signature=5ec7e75ec7e7';

describe('publish --url with a presigned URL', { timeout: 180_000 }, () => {
  it('publishes from a server that refuses HEAD as S3 does: size and reach come from a GET of the first byte', async () => {
    const w = await world();
    const { manifest, path } = await builtIso(w.dir, { bytes: 1 << 20 });
    const host = await presignedHost(await readFile(manifest.iso.path));
    const url = `${host.base}/isos/${manifest.name}.iso${SIGNED}`;
    // The control: this server refuses HEAD, so a check by HEAD could never pass.
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(403);
    const r = await publish(w, path, ['--url', url]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ filename: `${manifest.name}.iso`, status: 'complete' });
    // One HEAD (the control's), then the check's ranged GET, then Vultr's download.
    expect(host.requests).toEqual(['HEAD', 'GET bytes=0-0', 'GET']);
    expect(w.fake.downloads).toEqual([url]);
    expect(`${r.stdout}${r.stderr}`).not.toContain('5ec7e75ec7e7');
  });

  it('refuses (exit 2, before Vultr is asked) a ranged answer whose total is not the ISO\'s size, and a URL that refuses GET too', async () => {
    const w = await world();
    const { manifest, path } = await builtIso(w.dir, { bytes: 1 << 20 });
    const data = await readFile(manifest.iso.path);
    const bigger = await presignedHost(data, { total: data.length + 1 });
    const wrong = await publish(w, path, ['--url', `${bigger.base}/isos/${manifest.name}.iso${SIGNED}`]);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain(`vultr-sid-iso: --url *** answers HTTP 206 with ${data.length + 1} bytes, but the ISO has ${data.length}; upload the ISO there first`);
    const expired = await presignedHost(data, { refuseAll: true });
    const refused = await publish(w, path, ['--url', `${expired.base}/isos/${manifest.name}.iso${SIGNED}`]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/vultr-sid-iso: --url \*\*\* answers HTTP 403 with (0|no) bytes, but the ISO has \d+; upload the ISO there first/);
    expect(posts(w.fake)).toBe(0);
  });
});
