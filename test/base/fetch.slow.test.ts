// Fetching and verifying the base image over loopback HTTP with a test signing key: the
// happy path, resume, revalidation and every fault fail closed with no bad cache entry.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { standinIso } from '../helpers/fixtures.js';
import { mirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { runCli, tempDir } from '../helpers/project.js';

const NAME = 'debian-testing-amd64-netinst.iso';
let image: Buffer;
let trusted: { priv: openpgp.PrivateKey; pub: string; fpr: string };
let stranger: openpgp.PrivateKey;

async function key(name: string) {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name }], format: 'object' });
  return { priv: privateKey, pub: publicKey.armor(), fpr: publicKey.getFingerprint().toUpperCase() };
}

async function sign(data: Buffer, by: openpgp.PrivateKey): Promise<Buffer> {
  const sig = await openpgp.sign({ message: await openpgp.createMessage({ binary: data }), signingKeys: by, detached: true, format: 'binary' });
  return Buffer.from(sig as Uint8Array);
}

beforeAll(async () => {
  image = await readFile(await standinIso('netinst'));
  trusted = await key('vultr-sid-iso test CD key');
  stranger = (await key('someone else')).priv;
}, 120_000);

interface World {
  dir: string;
  server: MirrorServer;
  config: string;
  cache: string;
  url: string;
}

async function world(options: { sums?: Buffer; signer?: openpgp.PrivateKey; body?: Buffer; noSign?: boolean; dir?: string } = {}): Promise<World> {
  const dir = await tempDir();
  const server = await mirrorServer();
  const sums = options.sums ?? Buffer.from(`${createHash('sha512').update(image).digest('hex')}  ./${NAME}\n${'0'.repeat(128)}  ./other.iso\n`);
  server.files.set(`/iso-cd/${NAME}`, { body: options.body ?? image, lastModified: 'Mon, 23 Nov 2026 10:00:00 GMT' });
  server.files.set('/iso-cd/SHA512SUMS', { body: sums });
  if (!options.noSign) server.files.set('/iso-cd/SHA512SUMS.sign', { body: await sign(sums, options.signer ?? trusted.priv) });
  await writeFile(join(dir, 'keys.asc'), trusted.pub);
  const config = join(dir, 'config.yaml');
  await writeFile(config, `base:\n  keyring: ${join(dir, 'keys.asc')}\n  fingerprints: [${trusted.fpr}]\n`);
  return { dir, server, config, cache: join(dir, 'cache'), url: `${server.url}/iso-cd/${NAME}` };
}

const FAST_HTTP = { VULTR_SID_ISO_HTTP_TIMEOUT: '2', VULTR_SID_ISO_HTTP_BACKOFF: '0.02' };

function build(w: World, extra: string[] = [], url = w.url) {
  return runCli(['build', '--config', w.config, '--base-iso', url, '--cache-dir', w.cache, '--out-dir', join(w.dir, 'out'), '--json', ...extra], { env: FAST_HTTP });
}

async function cacheEntries(w: World): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['checksums', 'images', 'downloads']) {
    if (existsSync(join(w.cache, sub))) out.push(...(await readdir(join(w.cache, sub))).map((f) => `${sub}/${f}`));
  }
  return out.sort();
}

function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('vultr-sid-iso:'));
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('base image download and verification', { timeout: 180_000 }, () => {
  it('happy path: verified, cached; a second build makes one conditional request and downloads nothing', async () => {
    const w = await world();
    const first = await build(w);
    expect(first.exitCode, first.stderr).toBe(0);
    const manifest = JSON.parse(first.stdout);
    expect(manifest.base).toMatchObject({ source: w.url, verified: true, sha512: createHash('sha512').update(image).digest('hex') });
    expect(await cacheEntries(w)).toEqual(expect.arrayContaining([expect.stringMatching(/^images\/sha512-[0-9a-f]{128}\.iso$/)]));

    w.server.requests.length = 0;
    w.server.bytesSent = 0;
    const second = await build(w);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(w.server.requests).toEqual([{ method: 'GET', path: '/iso-cd/SHA512SUMS', range: undefined, status: 304 }]);
    expect(w.server.bytesSent).toBe(0);
    expect(second.stderr).toContain('is up to date');
  });

  it('a cached image that changed on disk after it was verified is hashed again, removed and downloaded afresh', async () => {
    const w = await world();
    expect((await build(w)).exitCode).toBe(0);
    await sleep(2100); // older than DigestMemo's settling time, so the next check is remembered
    const second = await build(w);
    expect(second.exitCode, second.stderr).toBe(0);
    const [cached] = (await cacheEntries(w)).filter((e) => e.startsWith('images/'));
    expect(Object.keys(JSON.parse(await readFile(join(w.cache, 'digests.json'), 'utf8')))).toEqual([join(w.cache, cached!)]);

    const file = await open(join(w.cache, cached!), 'r+');
    await file.write(Buffer.from('bit rot'), 0, 7, 40 << 20);
    await file.close();
    w.server.requests.length = 0;
    const third = await build(w);
    expect(third.exitCode, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/cached image .* does not match the signed checksum; removing it/);
    expect(w.server.requests.filter((r) => r.path.endsWith(NAME)).map((r) => r.status)).toEqual([200]);
    expect(JSON.parse(third.stdout).base.verified).toBe(true);
  });

  it('the connection drops mid-download: the run fails, and the next run resumes with a Range request', async () => {
    const w = await world();
    w.server.faults = { dropAfterBytes: 20 << 20, dropTimes: 5 };
    const first = await build(w);
    expect(first.exitCode).toBe(1);
    expect(errorLine(first.stderr)).toMatch(/could not be downloaded after 5 attempts: .*; run the build again to resume/);
    expect(w.server.requests.filter((r) => r.status === 206).length).toBeGreaterThan(0);
    expect(await cacheEntries(w)).not.toEqual(expect.arrayContaining([expect.stringMatching(/^images\//)]));
    w.server.requests.length = 0;
    const second = await build(w);
    expect(second.exitCode, second.stderr).toBe(0);
    const resumed = w.server.requests.find((r) => r.path.endsWith(NAME));
    expect(resumed?.status).toBe(206);
    expect(resumed?.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(resumed!.range!)![0])).toBeGreaterThanOrEqual(60 << 20); // most of the image was not fetched again
    expect(JSON.parse(second.stdout).base.verified).toBe(true);
  });

  it('a server that ignores Range: the download starts over and still verifies', async () => {
    const w = await world();
    w.server.faults = { dropAfterBytes: 10 << 20, dropTimes: 1, ignoreRange: true };
    const r = await build(w);
    expect(r.exitCode, r.stderr).toBe(0);
    const gets = w.server.requests.filter((q) => q.path.endsWith(NAME));
    expect(gets.map((g) => [g.status, Boolean(g.range)])).toEqual([[200, false], [200, true]]);
  });

  it('a redirect is followed', async () => {
    const w = await world();
    w.server.faults = { redirects: { [`/moved/${NAME}`]: `/iso-cd/${NAME}`, '/moved/SHA512SUMS': '/iso-cd/SHA512SUMS', '/moved/SHA512SUMS.sign': '/iso-cd/SHA512SUMS.sign' } };
    const r = await build(w, [], `${w.server.url}/moved/${NAME}`);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).base.verified).toBe(true);
  });

  it('a tampered image: exit 1, nothing cached', async () => {
    const body = Buffer.from(image);
    body[body.length - 5000] = body[body.length - 5000]! ^ 0xff;
    const w = await world({ body });
    const r = await build(w);
    expect(r.exitCode).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/does not match the signed sha512 .*; it was deleted \(a tampered or corrupt download\)/);
    expect((await cacheEntries(w)).filter((e) => !e.startsWith('checksums/'))).toEqual([]);
  });

  it('a tampered SHA512SUMS: exit 1, the checksums are not cached', async () => {
    const w = await world();
    const good = w.server.files.get('/iso-cd/SHA512SUMS')!.body;
    w.server.files.set('/iso-cd/SHA512SUMS', { body: Buffer.from(good.toString().replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))) });
    const r = await build(w);
    expect(r.exitCode).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/the signature on .*SHA512SUMS does not verify \(.*\); the image is not used/);
    expect(await cacheEntries(w)).toEqual([]);
  });

  it('a signature by an unknown key: exit 1', async () => {
    const w = await world({ signer: stranger });
    const r = await build(w);
    expect(r.exitCode).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/does not verify \(it was made by a key that is not pinned\)/);
    expect(await cacheEntries(w)).toEqual([]);
  });

  it('a .sign with two signatures, the first by a key that is not pinned (a key rollover): verified by the second', async () => {
    const w = await world();
    const sums = w.server.files.get('/iso-cd/SHA512SUMS')!.body;
    const both = await openpgp.sign({ message: await openpgp.createMessage({ binary: sums }), signingKeys: [stranger, trusted.priv], detached: true, format: 'binary' });
    const order = (await openpgp.readSignature({ binarySignature: both as Uint8Array })).getSigningKeyIDs().map((id) => id.toHex());
    expect(order).toEqual([stranger.getKeyID().toHex(), trusted.priv.getKeyID().toHex()]);
    w.server.files.set('/iso-cd/SHA512SUMS.sign', { body: Buffer.from(both as Uint8Array) });
    const r = await build(w);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).base.verified).toBe(true);
    expect(r.stderr).toContain(`checksums signed by ${trusted.fpr}`);
  });

  it('cached checksums that rotted or were cut short are fetched again, and the build still verifies', async () => {
    const w = await world();
    expect((await build(w)).exitCode).toBe(0);
    const [record] = (await cacheEntries(w)).filter((e) => e.startsWith('checksums/'));
    const path = join(w.cache, record!);
    const saved = JSON.parse(await readFile(path, 'utf8')) as { files: { sums: string } };
    const sums = Buffer.from(saved.files.sums, 'base64');
    sums[0] = sums[0] === 0x61 ? 0x62 : 0x61; // one flipped hex digit: the signature no longer holds
    saved.files.sums = sums.toString('base64');
    await writeFile(path, JSON.stringify(saved));
    const rotted = await build(w);
    expect(rotted.exitCode, rotted.stderr).toBe(0);
    expect(rotted.stderr).toMatch(/the cached copy of .*SHA512SUMS no longer verifies; fetching it again/);
    expect(JSON.parse(rotted.stdout).base.verified).toBe(true);

    const whole = await readFile(path, 'utf8');
    await writeFile(path, whole.slice(0, whole.length >> 1));
    w.server.requests.length = 0;
    const cut = await build(w);
    expect(cut.exitCode, cut.stderr).toBe(0);
    // Unreadable means absent: an unconditional fetch of both files, the image from the cache.
    expect(w.server.requests.map((r) => `${r.path} ${r.status}`)).toEqual(['/iso-cd/SHA512SUMS 200', '/iso-cd/SHA512SUMS.sign 200']);
  });

  it('a missing .sign: exit 1, fail closed', async () => {
    const w = await world({ noSign: true });
    const r = await build(w);
    expect(r.exitCode).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/the signature .*SHA512SUMS\.sign could not be fetched .*; an unsigned image is never used/);
    expect(await cacheEntries(w)).toEqual([]);
  });

  it('a 404 for the image: exit 2', async () => {
    const w = await world();
    const r = await build(w, [], `${w.server.url}/nowhere/${NAME}`);
    expect(r.exitCode).toBe(2);
    expect(errorLine(r.stderr)).toMatch(/checksum file .*\/nowhere\/SHA512SUMS was not found \(HTTP 404\); check base\.url or --base-iso/);
  });

  it('a server that stalls: a timeout error, no cache entry', async () => {
    const w = await world();
    w.server.faults = { stall: true };
    const r = await build(w);
    expect(r.exitCode).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/base image .* could not be downloaded after 5 attempts: no data for 2 s; run the build again to resume/);
    expect((await cacheEntries(w)).filter((e) => e.startsWith('images/'))).toEqual([]);
  });

  it('--offline uses the cache alone, and says what is missing without it', async () => {
    const w = await world();
    expect((await build(w)).exitCode).toBe(0);
    w.server.requests.length = 0;
    const offline = await build(w, ['--offline']);
    expect(offline.exitCode, offline.stderr).toBe(0);
    expect(w.server.requests).toEqual([]);
    const empty = await world();
    const r = await build(empty, ['--offline']);
    expect(r.exitCode).toBe(2);
    expect(errorLine(r.stderr)).toMatch(/--offline: no cached checksums for .*SHA512SUMS; run the build once without --offline/);
  });

  it('a full cache directory: exit 1, no partial download left', async () => {
    const w = await world();
    await mkdir(w.cache);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', w.cache]);
    try {
      const r = await build(w);
      expect(r.exitCode).toBe(1);
      expect(errorLine(r.stderr)).toMatch(/the cache directory has no space left for base image .*; free some space or pass another --cache-dir/);
      expect((await cacheEntries(w)).filter((e) => !e.startsWith('checksums/'))).toEqual([]);
    } finally {
      await execa('umount', [w.cache]);
    }
  });

  it('a plain http:// base URL off loopback, or one carrying credentials: exit 2 before any download', async () => {
    const w = await world();
    const http = await runCli(['build', '--base-iso', 'http://mirror.example.invalid/debian.iso', '--out-dir', join(w.dir, 'out')]);
    expect(http.exitCode).toBe(2);
    expect(errorLine(http.stderr)).toContain('--base-iso http://mirror.example.invalid/debian.iso is plain http://; pass an https:// URL');
    const creds = await runCli(['build', '--base-iso', 'https://me:hunter2@mirror.example.invalid/debian.iso', '--out-dir', join(w.dir, 'out')]);
    expect(creds.exitCode).toBe(2);
    expect(errorLine(creds.stderr)).toContain('--base-iso carries credentials');
    expect(creds.stderr).not.toContain('hunter2');
  });

  it('--require-verified refuses a local file', async () => {
    const w = await world();
    const r = await runCli(['build', '--base-iso', await standinIso('netinst'), '--require-verified', '--out-dir', join(w.dir, 'out')]);
    expect(r.exitCode).toBe(2);
    expect(errorLine(r.stderr)).toContain('--require-verified is set');
    expect(await readdir(join(w.dir, 'out')).catch(() => [])).toEqual([]); // nothing written
  });
});

describe('mini.iso from the archive: InRelease → SHA256SUMS → mini.iso', { timeout: 180_000 }, () => {
  const IMAGES = '/debian/dists/sid/main/installer-amd64/current/images';

  async function archive(options: { signer?: openpgp.PrivateKey; tamperSums?: boolean; release?: string; config?: string } = {}) {
    const dir = await tempDir();
    const server = await mirrorServer();
    const mini = await readFile(await standinIso('mini'));
    const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const sums = Buffer.from(`${sha256(mini)}  ./netboot/mini.iso\n${'1'.repeat(64)}  ./netboot/gtk/mini.iso\n`);
    const text = `Origin: Debian\n${options.release ?? 'Suite: unstable\nCodename: sid\n'}SHA256:\n ${sha256(sums)} ${sums.length} main/installer-amd64/current/images/SHA256SUMS\n ${'2'.repeat(64)} 10 main/binary-amd64/Release\n`;
    const inRelease = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: options.signer ?? trusted.priv });
    server.files.set('/debian/dists/sid/InRelease', { body: Buffer.from(inRelease) });
    server.files.set(`${IMAGES}/SHA256SUMS`, { body: options.tamperSums ? Buffer.concat([sums, Buffer.from('\n')]) : sums });
    server.files.set(`${IMAGES}/netboot/mini.iso`, { body: mini });
    await writeFile(join(dir, 'archive.asc'), trusted.pub);
    const config = join(dir, 'config.yaml');
    await writeFile(config, `base:\n  archiveKeyring: ${join(dir, 'archive.asc')}\n  archiveFingerprints: [${trusted.fpr}]\n${options.config ?? ''}`);
    const w: World = { dir, server, config, cache: join(dir, 'cache'), url: `${server.url}${IMAGES}/netboot/mini.iso` };
    return w;
  }

  it('verifies the chain, and an unchanged archive costs one conditional request', async () => {
    const w = await archive();
    const r = await build(w);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).base).toMatchObject({ verified: true, layout: 'mini', signer: trusted.fpr });
    expect(r.stderr).toContain(`InRelease signed by ${trusted.fpr}`);
    w.server.requests.length = 0;
    const again = await build(w);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(w.server.requests).toEqual([{ method: 'GET', path: '/debian/dists/sid/InRelease', range: undefined, status: 304 }]);
  });

  it('a SHA256SUMS that does not match InRelease: exit 1, nothing cached', async () => {
    const w = await archive({ tamperSums: true });
    const r = await build(w);
    expect(r.exitCode).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/SHA256SUMS does not match the SHA256 that the signed .*InRelease lists for it; the image is not used/);
    expect(await cacheEntries(w)).toEqual([]);
  });

  it('a validly signed but expired InRelease (a replay): exit 1, nothing cached; base.validUntilGraceDays lets a test mirror through', async () => {
    const day = 86_400_000;
    const release = `Suite: unstable\nCodename: sid\nDate: ${new Date(Date.now() - 20 * day).toUTCString()}\nValid-Until: ${new Date(Date.now() - 13 * day).toUTCString()}\n`;
    const w = await archive({ release });
    const r = await build(w);
    expect(r.exitCode).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/InRelease expired on \S+ \(its Valid-Until\); a mirror may be replaying an old or another suite's file, so the image is not used/);
    expect(await cacheEntries(w)).toEqual([]);
    // Control: the same file is accepted while valid, or within the configured grace.
    const graced = await archive({ release, config: '  validUntilGraceDays: 14\n' });
    expect((await build(graced)).exitCode).toBe(0);
    const fresh = await archive({ release: `Suite: unstable\nCodename: sid\nValid-Until: ${new Date(Date.now() + 7 * day).toUTCString()}\n` });
    expect((await build(fresh)).exitCode).toBe(0);
  });

  it("another suite's validly signed InRelease at dists/sid/: exit 1", async () => {
    const w = await archive({ release: 'Suite: stable\nCodename: trixie\n' });
    const r = await build(w);
    expect(r.exitCode).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/InRelease is for stable \/ trixie, not sid; a mirror may be replaying/);
  });

  it('an InRelease signed by an unknown key: exit 1', async () => {
    const w = await archive({ signer: stranger });
    const r = await build(w);
    expect(r.exitCode).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/the signature on .*InRelease does not verify \(it was made by a key that is not pinned\)/);
    expect(await cacheEntries(w)).toEqual([]);
  });
});
