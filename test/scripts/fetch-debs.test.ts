// The pinned fixture packages survive Debian's point releases: when the pool answers 404 (a
// superseded version is gone), fetch-debs.sh takes the same file from snapshot.debian.org as
// the archive was at the recorded time, and still checks its pinned sha256. Both archives are
// a loopback server here.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mirrorServer } from '../helpers/http-server.js';
import { ROOT, tempDir } from '../helpers/project.js';

const FETCH = join(ROOT, 'scripts/fixtures/fetch-debs.sh');
const POOL_PATH = 'pool/main/v/vsi-fixture/vsi-fixture_1.0_all.deb';
const STAMP = '20260712T000000Z';

async function tinyDeb(dir: string): Promise<Buffer> {
  const pkg = join(dir, 'pkg');
  await mkdir(join(pkg, 'DEBIAN'), { recursive: true });
  await mkdir(join(pkg, 'usr/share/vsi-fixture'), { recursive: true });
  await writeFile(join(pkg, 'DEBIAN/control'), 'Package: vsi-fixture\nVersion: 1.0\nArchitecture: all\nMaintainer: test <t@example.invalid>\nDescription: a fixture\n');
  await writeFile(join(pkg, 'usr/share/vsi-fixture/hello'), 'hello\n');
  await execa('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', pkg, join(dir, 'fixture.deb')]);
  return readFile(join(dir, 'fixture.deb'));
}

async function run(dir: string, deb: Buffer, sha: string, serve: { pool: boolean; snapshot: boolean }) {
  const server = await mirrorServer();
  if (serve.pool) server.files.set(`/debian/${POOL_PATH}`, { body: deb });
  if (serve.snapshot) server.files.set(`/snapshot/${STAMP}/${POOL_PATH}`, { body: deb });
  const list = join(dir, 'packages.txt');
  await writeFile(list, `# snapshot: ${STAMP}\nvsi-fixture 1.0 ${POOL_PATH} ${sha}\n`);
  const out = join(dir, `debs-${Math.random().toString(36).slice(2)}`);
  const r = await execa('sh', [FETCH, out], {
    reject: false,
    env: { FIXTURE_PACKAGES: list, DEBIAN_MIRROR: `${server.url}/debian`, DEBIAN_SNAPSHOT: `${server.url}/snapshot` },
  });
  return { r, out, requests: server.requests.map((q) => `${q.status} ${q.path}`) };
}

describe('fetch-debs.sh', () => {
  it('falls back to the snapshot archive when the pool answers 404, and unpacks the package', async () => {
    const dir = await tempDir();
    const deb = await tinyDeb(dir);
    const sha = createHash('sha256').update(deb).digest('hex');
    const { r, out, requests } = await run(dir, deb, sha, { pool: false, snapshot: true });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(requests).toEqual([`404 /debian/${POOL_PATH}`, `200 /snapshot/${STAMP}/${POOL_PATH}`]);
    expect(r.stderr).toContain(`taking it from the snapshot of ${STAMP}`);
    expect(await readFile(join(out, 'root/usr/share/vsi-fixture/hello'), 'utf8')).toBe('hello\n');
  });

  it('uses the pool while it still has the file (no snapshot request)', async () => {
    const dir = await tempDir();
    const deb = await tinyDeb(dir);
    const { r, requests } = await run(dir, deb, createHash('sha256').update(deb).digest('hex'), { pool: true, snapshot: true });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(requests).toEqual([`200 /debian/${POOL_PATH}`]);
  });

  it('still refuses a file whose sha256 is not the pinned one, wherever it came from', async () => {
    const dir = await tempDir();
    const deb = await tinyDeb(dir);
    const { r, out } = await run(dir, deb, 'f'.repeat(64), { pool: false, snapshot: true });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('vsi-fixture 1.0 does not match its pinned sha256');
    await expect(readFile(join(out, 'vsi-fixture_1.0_all.deb'))).rejects.toThrow();
  });
});
