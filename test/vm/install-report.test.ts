// The user-data vm create sends an IPv6-only VM (src/vm/report-user-data.ts), split by Debian's
// own cloud-init, and the report program in it (src/vm/install-report-program.ts) run for real
// with python3 against loopback servers: what it PUTs, where (also without DNS, to the
// addresses vm create resolved), and what vm create accepts from it (src/vm/install-report.ts).
import { execa } from 'execa';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parsePrefix } from '../../src/net/ipv6.js';
import { checkInstallReport, printable } from '../../src/vm/install-report.js';
import { REPORT_PART_FILENAME, reportProgram, reportUserData } from '../../src/vm/report-user-data.js';
import { ROOT, tempDir } from '../helpers/project.js';

const PARTS = join(ROOT, 'test/cloud-init/user-data-parts.py');
const URL_ = 'https://ewr1.vultrobjects.com/isos/r.json?X-Amz-Signature=0123abcd';

/** The parts Debian's cloud-init hands its part handlers, for a user-data blob. */
async function cloudInitParts(blob: Buffer): Promise<{ type: string; filename: string | null; payload: Buffer }[]> {
  const file = join(await tempDir(), 'user-data');
  await writeFile(file, blob);
  // Debian's python3, where the cloud-init package lives.
  const r = await execa('/usr/bin/python3', [PARTS, file]);
  return (JSON.parse(r.stdout) as { type: string; filename: string | null; payload: string }[]).map((p) => ({ ...p, payload: Buffer.from(p.payload, 'base64') }));
}

describe('the user-data for a VM that reports its install, as cloud-init reads it', () => {
  const userMime = Buffer.from(
    'Content-Type: multipart/mixed; boundary="XX"\nMIME-Version: 1.0\n\n--XX\nContent-Type: text/cloud-config\n\n#cloud-config\nruncmd: [ls]\n--XX\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho mime\n--XX--\n',
  );
  const cases: [string, Buffer | undefined][] = [
    ['none', undefined],
    ['a cloud-config', Buffer.from('#cloud-config\nruncmd:\n  - [touch, /root/x]\n')],
    ['a shell script', Buffer.from('#!/bin/sh\necho "héllo" \\\n  $HOME\n')],
    ['a gzipped cloud-config', gzipSync(Buffer.from('#cloud-config\npackages: [htop]\n'))],
    ['a MIME multipart of its own', userMime],
  ];
  it.each(cases)("the user's %s keeps its meaning, and the report program is a script beside it", async (_, own) => {
    const got = await cloudInitParts(reportUserData(own, URL_));
    // What cloud-init makes of the user's data alone: the same parts, byte for byte.
    const alone = own ? await cloudInitParts(own) : [];
    expect(got.slice(0, -1).map((p) => [p.type, p.payload.toString('latin1')])).toEqual(alone.map((p) => [p.type, p.payload.toString('latin1')]));
    const ours = got.at(-1)!;
    expect(ours.type).toBe('text/x-shellscript');
    expect(ours.filename).toBe(REPORT_PART_FILENAME);
    expect(ours.payload.toString()).toBe(reportProgram(URL_));
  });

  it('control: cloud-init tells parts apart (a user script sent as plain text would be a different part)', async () => {
    const [part] = await cloudInitParts(Buffer.from('#!/bin/sh\necho hi\n'));
    expect(part!.type).toBe('text/x-shellscript');
    const [config] = await cloudInitParts(Buffer.from('#cloud-config\n{}\n'));
    expect(config!.type).toBe('text/cloud-config');
  });
});

interface Put {
  method: string;
  url: string;
  host: string;
  body: string;
}

/** A loopback server on [::1] that answers every request with `status` and keeps what it got. */
async function objectStore(status = 200): Promise<{ port: number; got: Put[] }> {
  const got: Put[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ method: req.method!, url: req.url!, host: req.headers.host!, body: Buffer.concat(chunks).toString() });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '::1', r));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as AddressInfo).port, got };
}

/** An SSH server's greeting on loopback. */
async function sshd(): Promise<number> {
  const server = createTcpServer((s) => s.end('SSH-2.0-OpenSSH_10.6 Debian-1\r\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

/** An installed system's files under a directory, as the program reads them. */
async function installedRoot(files: Record<string, string> = {}): Promise<string> {
  const root = await tempDir();
  const all: Record<string, string> = {
    'var/lib/cloud/data/instance-id': 'c0ffee00-0000-4000-8000-000000000001\n',
    'run/vultr-sid-ipv6/state.json': JSON.stringify({ uplink: 'enp1s0', containerPrefix: '2001:db8:5:56c2::/80', ipv6: true }),
    'run/cloud-init/result.json': JSON.stringify({ v1: { errors: ['one\nthing failed'] } }),
    'usr/sbin/dockerd': '',
    'usr/sbin/sshd': '',
    'usr/local/sbin/vultr-sid-ipv6': '',
    ...files,
  };
  for (const [rel, text] of Object.entries(all)) {
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), text);
  }
  return root;
}

async function runProgram(url: string, root: string, ssh: string, addresses: string[] = []) {
  const file = join(root, 'report.py');
  await writeFile(file, reportProgram(url, addresses));
  // A name in the URL is looked up by a resolver on loopback, where nothing answers: no DNS
  // query leaves the machine (its own resolver is not on loopback), and every name fails.
  const resolv = join(root, 'resolv.conf');
  await writeFile(resolv, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  const run = `mount --bind ${resolv} /etc/resolv.conf && exec python3 ${file} --root ${root} --ssh ${ssh} --give-up-after 3`;
  return execa('unshare', ['--map-root-user', '--mount', 'sh', '-c', run], { reject: false, all: true, timeout: 60_000 });
}

describe('the report program on the installed system', { timeout: 60_000 }, () => {
  it('PUTs what the boot found to the URL, and never prints the URL', async () => {
    const store = await objectStore();
    const url = `http://[::1]:${store.port}/isos/reports/r.json?X-Amz-Signature=secret0123`;
    const r = await runProgram(url, await installedRoot(), `127.0.0.1:${await sshd()}`);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).not.toContain('secret0123');
    expect(store.got).toHaveLength(1);
    const [put] = store.got;
    expect(put).toMatchObject({ method: 'PUT', url: '/isos/reports/r.json?X-Amz-Signature=secret0123' });
    expect(JSON.parse(put!.body)).toEqual({
      version: 1,
      instanceId: 'c0ffee00-0000-4000-8000-000000000001',
      containerPrefix: '2001:db8:5:56c2::/80',
      ipv6: true,
      sshd: true,
      missing: ['ndppd'],
      cloudInitErrors: ['one\nthing failed'],
    });
    // …which is what vm create takes (the program and the check agree on every field).
    expect(checkInstallReport(put!.body, 'c0ffee00-0000-4000-8000-000000000001', parsePrefix('2001:db8:5:56c2::/64'))).toEqual({
      report: { instanceId: 'c0ffee00-0000-4000-8000-000000000001', containerPrefix: '2001:db8:5:56c2::/80', ipv6: true, sshd: true, missing: ['ndppd'], cloudInitErrors: ['one?thing failed'] },
    });
  });

  it('without DNS for the URL\'s host, connects to the addresses vm create resolved, the name kept in Host', async () => {
    const store = await objectStore();
    const url = `http://report-host.invalid:${store.port}/isos/r.json?X-Amz-Signature=s`;
    const r = await runProgram(url, await installedRoot(), '127.0.0.1:1', ['::1']);
    expect(r.exitCode, r.all).toBe(0);
    expect(store.got.map((p) => p.host)).toEqual([`report-host.invalid:${store.port}`]);
    expect(JSON.parse(store.got[0]!.body).sshd).toBe(false);
    // The control: without the addresses there is nowhere to send it.
    const none = await runProgram(url, await installedRoot(), '127.0.0.1:1');
    expect(none.exitCode).toBe(1);
    expect(none.all).toContain('no connection to report-host.invalid');
    expect(store.got).toHaveLength(1);
  });

  it('an expired or refused URL (HTTP 403) is not tried again', async () => {
    const store = await objectStore(403);
    const r = await runProgram(`http://[::1]:${store.port}/isos/r.json`, await installedRoot(), '127.0.0.1:1');
    expect(r.exitCode).toBe(1);
    expect(r.all).toContain('the object storage refused the status (HTTP 403)');
    expect(store.got).toHaveLength(1);
  });

  it("a partial install's record (vultr-sid-status's file) names each part not done, whatever files are there", async () => {
    const store = await objectStore();
    const status = 'essentials=done\nupgrade=done\npackages=failed: apt-get install docker.io did not succeed\nunits=waiting: for packages\nnetwork=done: ifupdown\n';
    const root = await installedRoot({ 'var/lib/vultr-sid-iso/install-status': status });
    await runProgram(`http://[::1]:${store.port}/r.json`, root, '127.0.0.1:1');
    expect(JSON.parse(store.got[0]!.body).missing).toEqual(['ndppd', 'packages: failed: apt-get install docker.io did not succeed', 'units: waiting: for packages']);
    // A part's last line is its outcome: completed later, it is no longer missing.
    const later = await installedRoot({ 'var/lib/vultr-sid-iso/install-status': `${status}packages=done\nunits=done\n` });
    await runProgram(`http://[::1]:${store.port}/r.json`, later, '127.0.0.1:1');
    expect(JSON.parse(store.got[1]!.body).missing).toEqual(['ndppd']);
  });

  it("names the same install parts, in the same order, as the installed system's own status (install-status.sh)", async () => {
    // Two copies by necessity (the program runs from user-data, before it could source ours);
    // this keeps them one list.
    const shell = await readFile(join(ROOT, 'templates/rootfs/usr/local/lib/vultr-sid-iso/install-status.sh'), 'utf8');
    const ours = /^INSTALL_PARTS="([^"]+)"$/m.exec(shell)?.[1]?.split(' ');
    const python = /^INSTALL_PARTS = \(([^)]+)\)$/m.exec(reportProgram(URL_))?.[1]?.match(/[a-z]+/g);
    expect(ours).toHaveLength(5);
    expect(python).toEqual(ours);
  });

  it('a boot whose boot program did not run says so', async () => {
    const store = await objectStore();
    const root = await installedRoot({ 'run/vultr-sid-ipv6/state.json': '' });
    await runProgram(`http://[::1]:${store.port}/r.json`, root, '127.0.0.1:1');
    const sent = JSON.parse(store.got[0]!.body);
    expect(sent).toMatchObject({ containerPrefix: null, ipv6: false });
    expect(sent.missing).toContain('vultr-sid-ipv6 state');
  });
});

describe('what vm create takes from a report (untrusted input)', () => {
  const id = 'c0ffee00-0000-4000-8000-000000000001';
  const network = parsePrefix('2001:db8:5:56c2::/64');
  const good = { version: 1, instanceId: id, containerPrefix: '2001:db8:5:56c2::/80', ipv6: true, sshd: true, missing: [], cloudInitErrors: [] };
  const { version: _version, ...fields } = good;
  it('a good one is taken, its strings cut to printable ASCII', () => {
    expect(checkInstallReport(JSON.stringify({ ...good, missing: ['docker\u001b[31m'], cloudInitErrors: ['a\nb'] }), id, network)).toEqual({
      report: { ...fields, missing: ['docker?[31m'], cloudInitErrors: ['a?b'] },
    });
    expect(printable('x'.repeat(10), 4)).toBe('xxxx…');
  });
  it.each([
    ['not JSON', 'nope', 'it is not JSON'],
    ['a list', '[]', 'it is not a JSON object'],
    ['another version', JSON.stringify({ ...good, version: 2 }), 'its version is 2, not 1'],
    ['another instance', JSON.stringify({ ...good, instanceId: 'other' }), `it names instance other, not ${id}`],
    ['a /80 outside the VM\'s /64', JSON.stringify({ ...good, containerPrefix: '2001:db8:dead::/80' }), "its containerPrefix 2001:db8:dead::/80 is outside the VM's network 2001:db8:5:56c2::/64"],
    ['not a /80', JSON.stringify({ ...good, containerPrefix: '2001:db8:5:56c2::/64' }), 'its containerPrefix 2001:db8:5:56c2::/64 is not an IPv6 /80'],
    ['sshd not a boolean', JSON.stringify({ ...good, sshd: 'yes' }), 'its ipv6 or sshd field is not true or false'],
    ['too many missing', JSON.stringify({ ...good, missing: Array(21).fill('x') }), 'its missing or cloudInitErrors field is not a short list of strings'],
    ['too large', JSON.stringify({ ...good, pad: 'x'.repeat(17_000) }), 'it is larger than 16384 bytes'],
  ])('refused: %s', (_, text, problem) => {
    expect(checkInstallReport(text, id, network)).toEqual({ problem });
  });
});
