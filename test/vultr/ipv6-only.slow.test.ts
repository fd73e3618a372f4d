// vm create --ipv6-only against the fake Vultr and s3rver on [::1]: the VM's user-data carries
// the install report program, the fake's installed system runs it for real (python3,
// helpers/fake-install-report.ts) and PUTs its status to the presigned URL; vm create reads
// it, checks it, deletes it. Where the run could not know that the install is done, it stops
// before it makes anything.
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';
import { describe, expect, it, onTestFinished } from 'vitest';
import { REPORT_PART_FILENAME } from '../../src/vm/report-user-data.js';
import { accountViolations, snapshot } from '../helpers/account-invariants.js';
import { mimeParts, playInstallReports, type FirstBootOptions } from '../helpers/fake-install-report.js';
import { CLI } from '../helpers/project.js';
import { cli, config, objects, recordOutput, useVultrChecks, vmCreate, world, type World } from '../helpers/vultr-world.js';

useVultrChecks();

/** s3rver on IPv6 loopback, the endpoint an IPv6-only VM could reach; replaces the world's IPv4 one. */
async function ipv6Storage(w: World): Promise<Record<string, string>> {
  // vhostBuckets off: s3rver would take the bracketed host "[::1]" for a bucket's name.
  const server = new S3rver({ port: 0, address: '::1', directory: w.s3.dir, silent: true, vhostBuckets: false, configureBuckets: [{ name: 'isos', configs: [] }] });
  const { port } = (await server.run()) as { port: number };
  onTestFinished(() => server.close());
  return { S3_ENDPOINT: `http://[::1]:${port}`, VULTR_SID_ISO_IPV6_REACH: 'no' };
}

/** A world whose VMs report their install, with an ISO of ours in the library. */
async function reportingWorld(firstBoot: FirstBootOptions | Parameters<typeof playInstallReports>[1] = {}, overrides = {}) {
  const w = await world('vultr-2026', overrides);
  w.fake.addIso('vultr-sid-aaaaaaaaaaaa.iso');
  await playInstallReports(w.fake, firstBoot);
  Object.assign(w.env, await ipv6Storage(w));
  return w;
}

/** vm create against the world, with more environment. */
const create = (w: World, extra: string[], env: Record<string, string> = {}) =>
  cli(w, ['vm', 'create', '--region', 'ewr', '--plan', 'vc2-1c-2gb', '--poll-interval', '0.1', '--timeout', '20', ...extra], env);

const reports = async (w: World) => (await objects(w)).filter((o) => o.includes('install-reports'));

describe('vm create --ipv6-only', { timeout: 120_000 }, () => {
  it('sends disable_public_ipv4 with enable_ipv6, and learns the install is done from the VM\'s own report', async () => {
    const w = await reportingWorld();
    const userData = join(w.dir, 'user-data.yaml');
    await writeFile(userData, '#cloud-config\nruncmd:\n  - [touch, /root/from-the-user]\n');
    const trace = join(w.dir, 'vm.trace');
    const before = snapshot(w.fake);
    const r = await vmCreate(w, ['--ipv6-only', '--user-data', userData, '--trace', trace]);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const inst = w.fake.instances.get(out.id)!;
    expect(inst.request).toMatchObject({ enable_ipv6: true, disable_public_ipv4: true });
    // The user's user-data, byte for byte, and the report program beside it.
    const parts = mimeParts(Buffer.from(String(inst.request.user_data), 'base64'));
    expect(parts.get('user-data')?.toString()).toBe(await readFile(userData, 'utf8'));
    expect(parts.get(REPORT_PART_FILENAME)?.toString()).toMatch(/^#!\/usr\/bin\/python3\n/);
    expect(r.stderr).toContain("the VM's own report, through s3://isos");
    expect(r.stderr).toMatch(/installed: the VM reported after [\d.]+ min/);
    expect(r.stderr).toContain('Wait for the installed system after the restart: skipped (the VM cannot be reached from here');
    expect(inst.isoState).toBe('ready');
    expect(out).toEqual({ id: inst.id, mainIp: inst.main_ip, v6MainIp: inst.v6_main_ip, v6Network: inst.v6_network, v6NetworkSize: 64, containerPrefix: `${inst.v6_network}/80`, installSeconds: expect.any(Number) });
    expect(inst.main_ip).toMatch(/^100\.68\./);
    // The report was read and deleted; nothing dialled the VM (its lease is private, and this
    // machine is told it has no IPv6); the presigned URL is in no output and no trace.
    expect(await reports(w)).toEqual([]);
    const traced = await readFile(trace, 'utf8');
    expect(traced).not.toMatch(/"kind":"ssh"/);
    for (const text of [r.stdout, r.stderr, traced]) expect(text).not.toMatch(/X-Amz-Signature|X-Amz-Credential/);
    expect(accountViolations(w.fake, before, r, { prefix: 'vultr-sid', exitCodes: [0] })).toEqual([]);
  });

  it('vm.ipv6Only in the config says the same', async () => {
    const w = await reportingWorld();
    const r = await cli(w, ['vm', 'create', '--config', await config(w, 'vm:\n  ipv6Only: true\n'), '--region', 'ewr', '--plan', 'p', '--poll-interval', '0.1', '--timeout', '20']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(w.fake.instances.get(JSON.parse(r.stdout).id)!.request.disable_public_ipv4).toBe(true);
  });

  it('refuses before anything is made when it could not tell the install is done', async () => {
    const w = await world();
    w.fake.addIso('vultr-sid-aaaaaaaaaaaa.iso');
    const last = (r: { stderr: string }) => r.stderr.trimEnd().split('\n').at(-1);
    // No object storage, and no IPv6 here.
    const none = await create(w, ['--ipv6-only'], { VULTR_SID_ISO_IPV6_REACH: 'no', S3_ENDPOINT: '', S3_BUCKET: '' });
    expect(none.exitCode).toBe(2);
    expect(last(none)).toBe(
      'vultr-sid-iso: vm create --ipv6-only cannot tell when the install is done: VULTR_SID_ISO_IPV6_REACH=no says this machine cannot reach IPv6 addresses, and no object storage is configured for the VM\'s report (S3_ENDPOINT, S3_BUCKET, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); configure object storage that answers over IPv6 (S3_ENDPOINT, S3_BUCKET, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), run it on a machine with public IPv6, or pass --no-wait and detach the ISO once the VM is installed, with npx vultr-sid-iso vm detach ID (an ISO left attached is harmless: it boots the installed system)',
    );
    // Object storage an IPv6-only VM could not reach (the world's is on 127.0.0.1).
    const v4 = await create(w, ['--ipv6-only'], { VULTR_SID_ISO_IPV6_REACH: 'no' });
    expect(v4.exitCode).toBe(2);
    expect(last(v4)).toContain("the object storage endpoint's host 127.0.0.1 has no IPv6 address, so an IPv6-only VM could not send its report there");
    // Object storage on IPv6 that does not have the bucket.
    const storage = await ipv6Storage(w);
    const bucket = await create(w, ['--ipv6-only'], { ...storage, S3_BUCKET: 'no-such-bucket' });
    expect(bucket.exitCode).toBe(2);
    expect(last(bucket)).toMatch(/the object storage for the VM's report does not answer for bucket no-such-bucket at http:\/\/\[::1\]:\d+ \(.+\); check S3_ENDPOINT/);
    // Nothing was asked of Vultr at all.
    expect(w.fake.requests).toEqual([]);
    // The control: the same run with that storage's real bucket goes ahead.
    await playInstallReports(w.fake);
    const ok = await create(w, ['--ipv6-only'], storage);
    expect(ok.exitCode, ok.stderr).toBe(0);
  });

  it('a report that does not name the instance is ignored and deleted; without a good one the unfinished VM is deleted', async () => {
    const w = await reportingWorld({ instanceId: () => '00000000-0000-4000-8000-000000000000' });
    const r = await vmCreate(w, ['--ipv6-only', '--timeout', '4']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/ignored an install report for instance (\S+): it names instance 00000000-0000-4000-8000-000000000000, not \1; waiting for a good one/);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^vultr-sid-iso: instance \S+ sent no install report within 4 s \(Vultr says active\/running\); raise --timeout/);
    expect(r.stderr).toMatch(/deleted the unfinished instance/);
    expect(w.fake.instances.size).toBe(0);
    expect(await reports(w)).toEqual([]);
  });

  it('a VM that reports no SSH server is kept and named (nobody could log in); one that lacks Docker is said', async () => {
    const w = await reportingWorld((i) => (i.label.endsWith('-1') ? { noSshd: true } : { lacks: ['docker'] }));
    const r = await vmCreate(w, ['--ipv6-only', '--count', '2', '--label', 'web']);
    expect(r.exitCode).toBe(1);
    const [one, two] = ['web-1', 'web-2'].map((label) => [...w.fake.instances.values()].find((i) => i.label === label)!);
    expect(r.stderr).toContain(`warning: vm 2/2: instance ${two!.id} is installed but lacks: docker;`);
    const last = r.stderr.trimEnd().split('\n').at(-1)!;
    expect(last).toContain(`1 of 2 VMs failed (vm 1: instance ${one!.id} finished its install but reports that its SSH server does not answer, so nobody could log in; look at its console in the Vultr portal)`);
    for (const i of [one!, two!]) expect(last).toContain(`npx vultr-sid-iso vm delete ${i.id}`);
    expect(w.fake.instances.size).toBe(2);
  });

  it('Ctrl-C while the VM installs: the VM and its report object are gone', async () => {
    const w = await reportingWorld({}, { installMs: 3000 });
    const child = execa(process.execPath, [CLI, 'vm', 'create', '--ipv6-only', '--region', 'ewr', '--plan', 'p', '--poll-interval', '0.1', '--timeout', '20'], { reject: false, env: { ...process.env, ...w.env, NO_COLOR: '1' } });
    child.stderr?.on('data', (c: Buffer) => {
      if (c.toString().includes('✔ Create the instance')) child.kill('SIGINT');
    });
    const r = await child;
    recordOutput(String(r.stdout), String(r.stderr));
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr).trimEnd().split('\n').at(-1)).toBe('vultr-sid-iso: cancelled by SIGINT; everything this run created was removed');
    expect(w.fake.instances.size).toBe(0);
    expect(await reports(w)).toEqual([]);
  });
});
