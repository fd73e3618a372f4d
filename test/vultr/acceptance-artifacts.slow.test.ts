// What the acceptance run leaves under --out (the nightly uploads it as the `acceptance`
// artifact, which any signed-in GitHub user can download) holds no secret, however far the run
// gets: no private key, no presigned URL, no API key, no password hash. The run goes against
// the fake Vultr and s3rver, with a config that carries a password hash, and is made to fail
// at each step in turn: refused before anything, the build, the publish (after a verified build
// and an upload with a presigned URL), vm create, the login (the fake's VM answers only its SSH
// banner), the clean-up, and a Ctrl-C mid-run. Each time the private directory that held the
// throwaway key (under RUNNER_TEMP) is gone afterwards. The control: the check finds a key
// written where the old script wrote it.
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { standinIso } from '../helpers/fixtures.js';
import { mirrorServer } from '../helpers/http-server.js';
import { ROOT, tempDir } from '../helpers/project.js';
import { API_KEY, recordOutput, useVultrChecks, world, type World } from '../helpers/vultr-world.js';

useVultrChecks();

const SCRIPT = join(ROOT, 'dist/scripts/acceptance-vultr.js');
/** A sha-512 crypt hash (of "acceptance"), as admin.passwordHash takes it. */
const HASH = '$6$acceptsalt$U40wVOMHKViEzDH8tDSj5tp9qS.twK6DaQXLtSDIdzN/Fv9PNEBRycL17hkhm/8WW/bNSLqiXS8ijNNKvTwWE1';
const NAME = 'debian-testing-amd64-netinst.iso';

/** What must never be in an artifact, and how to recognise it. */
const SECRETS: [what: string, found: (text: string) => boolean][] = [
  ['a private key', (t) => /PRIVATE KEY-----/.test(t)],
  ['the Vultr API key', (t) => t.includes(API_KEY)],
  ['a presigned URL', (t) => /X-Amz-(Signature|Credential|Security-Token)=/i.test(t)],
  ['the password hash', (t) => t.includes(HASH) || t.includes(HASH.slice(12, 40))],
];

/** Every file under `dir`, and the secrets each holds ("logs/vm.trace holds the Vultr API key"). */
async function leaks(dir: string): Promise<{ files: string[]; found: string[] }> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  const found: string[] = [];
  for (const file of files) {
    const text = (await readFile(file)).toString('latin1');
    for (const [what, test] of SECRETS) if (test(text)) found.push(`${relative(dir, file)} holds ${what}`);
  }
  return { files: files.map((f) => relative(dir, f)).sort(), found };
}

interface Signed {
  keyring: string;
  fingerprint: string;
  url: string;
}
/** A loopback mirror serving the stand-in netinst, its SHA512SUMS signed by a test key the config pins (for this test). */
async function signedMirror(): Promise<Signed> {
  const image = await readFile(await standinIso('netinst'));
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'acceptance test CD key' }], format: 'object' });
  const sums = Buffer.from(`${createHash('sha512').update(image).digest('hex')}  ./${NAME}\n`);
  const signature = await openpgp.sign({ message: await openpgp.createMessage({ binary: sums }), signingKeys: privateKey, detached: true, format: 'binary' });
  const server = await mirrorServer();
  server.files.set(`/iso-cd/${NAME}`, { body: image });
  server.files.set('/iso-cd/SHA512SUMS', { body: sums });
  server.files.set('/iso-cd/SHA512SUMS.sign', { body: Buffer.from(signature as Uint8Array) });
  const keyring = join(await tempDir(), 'keys.asc');
  await writeFile(keyring, publicKey.armor());
  return { keyring, fingerprint: publicKey.getFingerprint().toUpperCase(), url: `${server.url}/iso-cd/${NAME}` };
}

interface Run {
  exitCode: number | undefined;
  stderr: string;
  out: string;
  runnerTemp: string;
}

/**
 * The script against the world, from a working directory of its own (its builds go there),
 * RUNNER_TEMP set as on Actions; the config carries a password hash, and pins `signed`'s key.
 */
async function acceptance(w: World, args: string[], options: { cwd?: string; signed?: Signed; onStderr?: (text: string, pid: number) => void } = {}): Promise<Run> {
  const out = join(await tempDir(), 'logs', 'acceptance');
  const runnerTemp = await tempDir('vsi-runner-temp-');
  const cwd = options.cwd ?? (await tempDir());
  const config = join(w.dir, 'acceptance-source.yaml');
  const { signed } = options;
  const base = signed ? `base:\n  keyring: ${signed.keyring}\n  fingerprints: ["${signed.fingerprint}"]\n` : '';
  await writeFile(config, `admin:\n  passwordHash: "${HASH}"\n${base}`);
  const child = execa(process.execPath, [SCRIPT, '--run-id', 'art-1', '--config', config, '--out', out, '--poll-interval', '0.1', '--no-ipv6-check', ...args], {
    reject: false,
    cwd,
    env: { PATH: process.env.PATH!, ...w.env, VULTR_ACCEPTANCE: '1', RUNNER_TEMP: runnerTemp, NO_COLOR: '1' },
    extendEnv: false,
  });
  child.stderr?.on('data', (chunk: Buffer) => options.onStderr?.(chunk.toString(), child.pid!));
  const r = await child;
  recordOutput(String(r.stdout), String(r.stderr));
  return { exitCode: r.exitCode, stderr: String(r.stderr), out, runnerTemp };
}

/** Nothing secret under --out, and the private directory is gone. */
async function clean(r: Run): Promise<string[]> {
  const { files, found } = existsSync(r.out) ? await leaks(r.out) : { files: [], found: [] };
  expect(found, `under --out (${files.join(', ')}):\n${r.stderr}`).toEqual([]);
  expect(await readdir(r.runnerTemp), 'the private directory under RUNNER_TEMP is left').toEqual([]);
  return files;
}

const ourIso = (w: World) => w.fake.addIso('vultr-sid-0123456789ab.iso');

describe('the acceptance run leaves no secret in its artifact', { timeout: 600_000 }, () => {
  it('the check finds a private key where the old script wrote it (the control)', async () => {
    const dir = await tempDir();
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id_ed25519')]);
    await writeFile(join(dir, 'acceptance.config.yaml'), `admin:\n  passwordHash: "${HASH}"\n`);
    expect((await leaks(dir)).found.sort()).toEqual(['acceptance.config.yaml holds the password hash', 'id_ed25519 holds a private key']);
  });

  it('refused before anything (an --iso not in the library), and a failed build', async () => {
    const w = await world('vultr-2026', { foreignIsos: [] });
    const refused = await acceptance(w, ['--iso', 'cb676a46-66fd-4dfb-b839-443f2e6c0b60']);
    expect(refused.exitCode, refused.stderr).toBe(2);
    await clean(refused);
    const build = await acceptance(w, ['--base-iso', join(w.dir, 'missing.iso')]);
    expect(build.exitCode).toBe(1);
    expect(build.stderr).toContain('FAILED: build failed');
    expect(await clean(build)).toContain('build.log');
  });

  it('the whole way to the login (verified build, publish through a presigned URL, vm create), then a publish that fails', async () => {
    const signed = await signedMirror();
    const cwd = await tempDir();
    const w = await world('vultr-2026', { foreignIsos: [] });
    const r = await acceptance(w, ['--base-iso', signed.url], { cwd, signed });
    // The fake's VM answers only its SSH banner: the run fails at the login, after everything before it worked.
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/FAILED: ssh debian@127\.\S+ with the run's key failed/);
    expect(w.fake.downloads.some((u) => /X-Amz-Signature=/.test(u)), 'Vultr got a presigned URL').toBe(true);
    expect(w.fake.requests.filter((q) => q.method === 'POST' && q.path === '/instances')).toHaveLength(1);
    expect(await clean(r)).toEqual(expect.arrayContaining(['build.log', 'publish.log', 'publish.trace', 'vm-create.log', 'vm.trace']));
    // Cleaned up: no VM, no acceptance ISO.
    expect(w.fake.instances.size).toBe(0);
    expect([...w.fake.isos.values()].map((i) => i.filename)).toEqual([]);

    const w2 = await world('vultr-2026', { foreignIsos: [] });
    w2.fake.faults.wrongSha512 = true;
    const publish = await acceptance(w2, ['--base-iso', signed.url], { cwd, signed });
    expect(publish.exitCode).toBe(1);
    expect(publish.stderr).toContain('FAILED: publish failed');
    await clean(publish);
  });

  it('vm create fails, the login fails, the clean-up fails', async () => {
    const w = await world('vultr-2026', { foreignIsos: [] });
    const vmFails = await acceptance(w, ['--iso', ourIso(w).id, '--region', 'NOT A REGION']);
    expect(vmFails.exitCode).toBe(1);
    expect(vmFails.stderr).toContain('FAILED: vm-create failed');
    await clean(vmFails);

    const login = await acceptance(w, ['--iso', ourIso(w).id]);
    expect(login.exitCode).toBe(1);
    expect(login.stderr).toMatch(/FAILED: ssh debian@/);
    await clean(login);

    // Every DELETE of an instance refused: the VM stays, and the run says so.
    const w2 = await world('vultr-2026', { foreignIsos: [] });
    for (let i = 0; i < 40; i++) w2.fake.inject({ kind: 'refused-500', at: (c) => c.sig === 'DELETE /instances/{instance-id}' });
    const cleanup = await acceptance(w2, ['--iso', ourIso(w2).id]);
    expect(cleanup.exitCode).toBe(1);
    expect(cleanup.stderr).toMatch(/FAILED: left behind: VM /);
    await clean(cleanup);
  });

  it('Ctrl-C while vm create runs: the key is deleted at once, and the run says how to clean up', async () => {
    const w = await world('vultr-2026', { foreignIsos: [], installMs: 60_000 });
    let sent = false;
    const r = await acceptance(w, ['--iso', ourIso(w).id], {
      onStderr: (text, pid) => {
        if (!sent && text.includes('vultr-sid-iso vm create')) {
          sent = true;
          setTimeout(() => process.kill(pid, 'SIGINT'), 500);
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toContain('SIGINT: stopped; the throwaway key is deleted; delete what the run made with: node dist/scripts/acceptance-vultr.js --cleanup-only --run-id art-1');
    await clean(r);
  });
});
