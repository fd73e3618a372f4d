// vultr-sid-ipv6 in network namespaces: a "router" and a "vm" joined by veth, the vm's uplink
// with a SLAAC-style address in a /64 and a default route. The program writes its files
// under --root; Debian's ndppd then runs with the produced config, and the router must reach
// a container in the /80 through it.
import { execa } from 'execa';
import { cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { containerPrefix, formatIPv6, formatPrefix, parseIPv6, parsePrefix } from '../../src/net/ipv6.js';
import { captureNdp, type NdpTally } from '../../scripts/lab/ndp-capture.js';
import { Lab, VM_MAC } from '../helpers/netns.js';
import { ROOT, tempDir } from '../helpers/project.js';

const PROGRAM = join(ROOT, 'templates/rootfs/usr/local/sbin/vultr-sid-ipv6');
/** What a change of this boot's state restarts: the network on the /80 and the NDP proxy entries' keeper. */
const RESTARTED_WITH_STATE = ['--no-block try-restart vultr-sid-docker-network.service', '--no-block try-restart vultr-sid-ndp-proxy.service'];
const METADATA_URL = 'http://169.254.169.254/v1.json';

interface Outcome {
  uplink: string;
  network: string | null;
  host: string | null;
  source: 'metadata' | 'slaac' | null;
  containerPrefix: string | null;
  changed: string[];
  /** Why the VM has no IPv6 for containers this boot. */
  noIpv6?: string;
}

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.destroy();
  lab = undefined;
});

async function settle(l: Lab, ns: string) {
  for (let i = 0; i < 50; i++) {
    const { stdout } = await l.exec(ns, ['ip', '-6', 'addr', 'show', 'tentative']);
    if (!stdout.trim()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * rtr ⇄ vm with the /64 on-link at the router, as at Vultr: the router's global address sits
 * in the last /80 of the /64 and the vm's default route points at its link-local address.
 */
async function network(host: string, { defaultRoute = true } = {}): Promise<Lab> {
  const l = await Lab.withUplink();
  const net64 = parsePrefix(`${host}/64`)!;
  const routerAddress = formatIPv6(net64.network | (0xffffn << 48n) | 1n);
  await l.exec(l.rtr, ['ip', '-6', 'addr', 'add', `${routerAddress}/64`, 'dev', 'rtr0']);
  await l.exec(l.rtr, ['ip', '-6', 'addr', 'add', 'fe80::1/64', 'dev', 'rtr0']);
  await l.exec(l.vm, ['ip', '-6', 'addr', 'add', `${host}/64`, 'dev', 'enp1s0']);
  await settle(l, l.vm);
  await settle(l, l.rtr);
  if (defaultRoute) await addDefaultRoute(l);
  await l.sysctl(l.vm, 'net.ipv6.conf.all.forwarding', '1');
  return l;
}

const addDefaultRoute = (l: Lab) => l.exec(l.vm, ['ip', '-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'enp1s0']);

async function runProgram(l: Lab, root: string, extra: string[] = []): Promise<Outcome> {
  const r = await l.exec(l.vm, ['python3', PROGRAM, '--root', root, '--metadata-url', METADATA_URL, '--metadata-timeout', '1', '--wait', '3', ...extra], { reject: false });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return JSON.parse(String(r.stdout)) as Outcome;
}

function vultrMetadata(network: string, address: string) {
  return {
    hostname: 'vm',
    'instance-v2-id': '7a1b2c3d-0000-4000-8000-000000000000',
    interfaces: [
      { mac: '5a:00:00:00:00:01', 'network-type': 'private', ipv6: {} },
      { mac: VM_MAC, 'network-type': 'public', ipv6: { address, network, prefix: '64', additional: [] } },
    ],
  };
}

/** A container namespace on a bridge in the vm, with an address in the /80. */
async function container(l: Lab, prefix: string): Promise<string> {
  const p = parsePrefix(prefix)!;
  expect(p.length).toBe(80);
  const gw = formatIPv6(p.network | 1n);
  const addr = formatIPv6(p.network | 2n);
  const ctr = `vsi-ctr-${l.id}`;
  await l.ns(ctr);
  await l.exec(l.vm, ['ip', 'link', 'add', 'br-ctr', 'type', 'bridge']);
  await l.exec(l.vm, ['ip', 'link', 'set', 'br-ctr', 'up']);
  await l.exec(l.vm, ['ip', '-6', 'addr', 'add', `${gw}/80`, 'dev', 'br-ctr']);
  await l.link(ctr, 'eth0', l.vm, 'vethc');
  await l.exec(l.vm, ['ip', 'link', 'set', 'vethc', 'master', 'br-ctr']);
  await l.exec(ctr, ['ip', '-6', 'addr', 'add', `${addr}/80`, 'dev', 'eth0']);
  await settle(l, ctr);
  await settle(l, l.vm);
  await l.exec(ctr, ['ip', '-6', 'route', 'add', 'default', 'via', gw]);
  return addr;
}

/** COUNT container namespaces on one bridge in the vm, at /80 addresses ::2 onwards. */
async function containers(l: Lab, prefix: string, count: number): Promise<string[]> {
  const p = parsePrefix(prefix)!;
  await l.exec(l.vm, ['ip', 'link', 'add', 'br-ctrs', 'type', 'bridge']);
  await l.exec(l.vm, ['ip', 'link', 'set', 'br-ctrs', 'up']);
  await l.exec(l.vm, ['ip', '-6', 'addr', 'add', `${formatIPv6(p.network | 1n)}/80`, 'dev', 'br-ctrs', 'nodad']);
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const ns = `vsi-c${i}-${l.id}`;
    const address = formatIPv6(p.network | BigInt(i + 2));
    await l.ns(ns);
    await l.link(ns, 'eth0', l.vm, `vethc${i}`);
    await l.exec(l.vm, ['ip', 'link', 'set', `vethc${i}`, 'master', 'br-ctrs']);
    await l.exec(ns, ['ip', '-6', 'addr', 'add', `${address}/80`, 'dev', 'eth0', 'nodad']);
    await l.exec(ns, ['ip', '-6', 'route', 'add', 'default', 'via', formatIPv6(p.network | 1n)]);
    addresses.push(address);
  }
  return addresses;
}

/** One ping from the router to each address, back to back, after it forgot them all: how many answered. */
async function answeredOnce(l: Lab, addresses: string[]): Promise<number> {
  await l.exec(l.rtr, ['ip', '-6', 'neigh', 'flush', 'dev', 'rtr0']);
  let answered = 0;
  // busybox ping, like traffic a router forwards, does not confirm the router's neighbour
  // entries (iputils ping sends with MSG_CONFIRM, which keeps them REACHABLE).
  for (const address of addresses) if ((await l.exec(l.rtr, ['busybox', 'ping', '-6', '-c', '1', '-W', '2', address], { reject: false })).exitCode === 0) answered++;
  return answered;
}

async function routerPings(l: Lab, addr: string, tries = 4): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const r = await l.exec(l.rtr, ['ping', '-6', '-c', '1', '-W', '2', addr], { reject: false });
    if (r.exitCode === 0) return true;
  }
  return false;
}

describe('vultr-sid-ipv6 in network namespaces', () => {
  it('metadata path: the router reaches a container in the /80 through ndppd', { timeout: 120_000 }, async () => {
    lab = await network('2001:db8:5:56c2:5400:ff:fe20:2295');
    const dir = await tempDir();
    const root = join(dir, 'root');
    await lab.serveMetadata(lab.vm, join(dir, 'v1.json'), vultrMetadata('2001:db8:5:56c2::', '2001:db8:5:56c2:5400:ff:fe20:2295'));
    const out = await runProgram(lab, root);
    expect(out).toMatchObject({ uplink: 'enp1s0', source: 'metadata', network: '2001:db8:5:56c2::/64', containerPrefix: '2001:db8:5:56c2::/80' });
    expect(out.changed.sort()).toEqual(['/etc/docker/daemon.json', '/etc/ndppd.conf', '/etc/sysctl.d/60-vultr-sid-ipv6.conf']);

    const ndppdConf = await readFile(join(root, 'etc/ndppd.conf'), 'utf8');
    expect(ndppdConf).toMatch(/proxy enp1s0 \{[\s\S]*rule 2001:db8:5:56c2::\/80 \{\s+static\s+\}/);
    // exposure: published (the default): the default bridge stays IPv4 with Docker's own
    // filtering; the /80 goes to the routed network the --docker-network run keeps.
    expect(JSON.parse(await readFile(join(root, 'etc/docker/daemon.json'), 'utf8'))).toEqual({});
    expect(JSON.parse(await readFile(join(root, 'run/vultr-sid-ipv6/state.json'), 'utf8'))).toEqual({
      uplink: 'enp1s0', containerPrefix: '2001:db8:5:56c2::/80', ipv6: true, exposure: 'published', network: 'public', ndpProxy: true,
    });
    const sysctl = (await readFile(join(root, 'etc/sysctl.d/60-vultr-sid-ipv6.conf'), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(sysctl).toEqual([
      'net/ipv6/conf/enp1s0/accept_ra = 2', 'net.ipv6.conf.all.forwarding = 1', 'net.ipv6.conf.default.forwarding = 1',
      'net.ipv6.conf.all.proxy_ndp = 1', 'net/ipv6/conf/enp1s0/proxy_ndp = 1',
    ]);

    const addr = await container(lab, out.containerPrefix!);
    // Without the proxy nobody answers the router's neighbour solicitation.
    expect(await routerPings(lab, addr, 1)).toBe(false);
    // Debian's ndppd 0.2.5 aborts ("terminate called ... invalid_pointer") when a solicitation
    // arrives while it starts; our unit restarts it (Restart=on-failure). Here we let the
    // router give up first so one start is enough.
    for (let i = 0; i < 50; i++) {
      const { stdout } = await lab.exec(lab.rtr, ['ip', '-6', 'neigh', 'show', addr, 'dev', 'rtr0']);
      if (!/INCOMPLETE|PROBE/.test(stdout)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const ndppd = lab.spawn(lab.vm, ['ndppd', '-c', join(root, 'etc/ndppd.conf')]);
    await new Promise((r) => setTimeout(r, 1500));
    await lab.exec(lab.rtr, ['ip', '-6', 'neigh', 'flush', 'dev', 'rtr0']);
    expect(await routerPings(lab, addr)).toBe(true);
    const { stdout: neigh } = await lab.exec(lab.rtr, ['ip', '-6', 'neigh', 'show', addr, 'dev', 'rtr0']);
    expect(neigh).toContain(`lladdr ${VM_MAC}`);
    ndppd.kill();

    // A second run changes nothing (so it restarts nothing).
    expect((await runProgram(lab, root)).changed).toEqual([]);
  });

  it('fallback path: no metadata service, the /64 comes from the SLAAC address', { timeout: 120_000 }, async () => {
    lab = await network('2001:db8:77:1:5400:ff:fe20:2295');
    const root = join(await tempDir(), 'root');
    const out = await runProgram(lab, root);
    expect(out).toMatchObject({ source: 'slaac', network: '2001:db8:77:1::/64', host: '2001:db8:77:1:5400:ff:fe20:2295', containerPrefix: '2001:db8:77:1::/80' });
    const addr = await container(lab, out.containerPrefix!);
    lab.spawn(lab.vm, ['ndppd', '-c', join(root, 'etc/ndppd.conf')]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await routerPings(lab, addr)).toBe(true);
  });

  it.each([
    ['expanded metadata prefix', '2001:0db8:0005:0000:0000:0000:0000:0000', '2001:db8:5:0:5400:ff:fe20:2295', 'auto', '2001:db8:5::/80'],
    ['compressed metadata prefix with a zero hextet', '2001:db8:5::', '2001:db8:5:0:5400:ff:fe20:2295', 3, '2001:db8:5:0:3::/80'],
    ['host address inside the first /80', '2001:db8:9:9::', '2001:db8:9:9::5', 'auto', '2001:db8:9:9:1::/80'],
  ] as const)('%s', { timeout: 60_000 }, async (_name, network64, host, subnet, expected) => {
    lab = await network(host);
    const dir = await tempDir();
    const root = join(dir, 'root');
    await mkdir(join(root, 'etc/vultr-sid-iso'), { recursive: true });
    await writeFile(join(root, 'etc/vultr-sid-iso/ipv6.json'), JSON.stringify({ docker: { subnet } }));
    // daemon.json keys we do not own survive the merge.
    await mkdir(join(root, 'etc/docker'), { recursive: true });
    await writeFile(join(root, 'etc/docker/daemon.json'), JSON.stringify({ 'log-driver': 'journald', ipv6: false }));
    await lab.serveMetadata(lab.vm, join(dir, 'v1.json'), vultrMetadata(network64, host));
    const out = await runProgram(lab, root);
    expect(out.containerPrefix).toBe(expected);
    // The TypeScript arithmetic (used by `vm create` to report the /80) agrees.
    const ts = containerPrefix(parsePrefix(`${network64}/64`)!, parseIPv6(host), subnet);
    expect(formatPrefix(ts)).toBe(expected);
    // Keys it does not own survive; its own (ipv6, an old ipv6: false) go with exposure: published.
    const daemon = JSON.parse(await readFile(join(root, 'etc/docker/daemon.json'), 'utf8'));
    expect(daemon).toEqual({ 'log-driver': 'journald' });
  });

  it.each([
    ['a JSON string, not an object', 'not an object'],
    ['interfaces of the wrong type', { interfaces: 'enp1s0' }],
    ['no interface with the uplink\'s MAC', { interfaces: [{ mac: '56:00:00:99:99:99', ipv6: { network: '2001:db8:1::', prefix: '64' } }] }],
    ['a /56 prefix', { interfaces: [{ mac: VM_MAC, ipv6: { network: '2001:db8:1::', prefix: '56' } }] }],
    ['a prefix that is not a number', { interfaces: [{ mac: VM_MAC, ipv6: { network: '2001:db8:1::', prefix: 'sixty-four' } }] }],
    ['ipv6 of the wrong type', { interfaces: [{ mac: VM_MAC, ipv6: 'yes' }] }],
    ['a network that is not an address', { interfaces: [{ mac: VM_MAC, ipv6: { network: 'fe80::zz', prefix: 64 } }] }],
  ] as const)('bad metadata (%s): the uplink\'s own /64, with one warning line', { timeout: 60_000 }, async (_name, metadata) => {
    lab = await network('2001:db8:44:4:5400:ff:fe20:2295');
    const dir = await tempDir();
    await lab.serveMetadata(lab.vm, join(dir, 'v1.json'), metadata as object);
    const r = await lab.exec(lab.vm, ['python3', PROGRAM, '--root', join(dir, 'root'), '--metadata-url', METADATA_URL, '--metadata-timeout', '1', '--wait', '3'], { reject: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(JSON.parse(String(r.stdout))).toMatchObject({ source: 'slaac', network: '2001:db8:44:4::/64', containerPrefix: '2001:db8:44:4::/80' });
    const lines = String(r.stderr).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^vultr-sid-ipv6: metadata at http:\/\/169\.254\.169\.254\/v1\.json is not usable \(.+\); using the uplink's SLAAC address$/);
  });

  it('keeps the mode of the files it rewrites (0644 for new ones)', { timeout: 60_000 }, async () => {
    lab = await network('2001:db8:45:5:5400:ff:fe20:2295');
    const root = join(await tempDir(), 'root');
    await mkdir(join(root, 'etc/docker'), { recursive: true });
    await writeFile(join(root, 'etc/docker/daemon.json'), '{}', { mode: 0o600 });
    await writeFile(join(root, 'etc/ndppd.conf'), '# old\n', { mode: 0o640 });
    const out = await runProgram(lab, root);
    expect(out.changed).toHaveLength(3);
    const mode = async (p: string) => (await stat(join(root, p))).mode & 0o7777;
    expect(await mode('etc/docker/daemon.json')).toBe(0o600);
    expect(await mode('etc/ndppd.conf')).toBe(0o640);
    expect(await mode('etc/sysctl.d/60-vultr-sid-ipv6.conf')).toBe(0o644);
  });

  it('exposure: all-ports puts the default bridge on the /80 with Docker\'s IPv6 filtering off (the original procedure)', { timeout: 60_000 }, async () => {
    lab = await network('2001:db8:46:6:5400:ff:fe20:2295');
    const root = join(await tempDir(), 'root');
    await mkdir(join(root, 'etc/vultr-sid-iso'), { recursive: true });
    await writeFile(join(root, 'etc/vultr-sid-iso/ipv6.json'), JSON.stringify({ docker: { exposure: 'all-ports' } }));
    const out = await runProgram(lab, root);
    expect(out.containerPrefix).toBe('2001:db8:46:6::/80');
    expect(JSON.parse(await readFile(join(root, 'etc/docker/daemon.json'), 'utf8'))).toEqual({ ipv6: true, 'fixed-cidr-v6': '2001:db8:46:6::/80', ip6tables: false });
    // Back to published: the keys it set are gone again.
    await writeFile(join(root, 'etc/vultr-sid-iso/ipv6.json'), JSON.stringify({ docker: { exposure: 'published' } }));
    await runProgram(lab, root);
    expect(JSON.parse(await readFile(join(root, 'etc/docker/daemon.json'), 'utf8'))).toEqual({});
  });

  it('waits for the default route (DHCP still running at boot), and fails in one line without one', { timeout: 60_000 }, async () => {
    lab = await network('2001:db8:6:6:5400:ff:fe20:2295', { defaultRoute: false });
    const l = lab;
    const root = join(await tempDir(), 'root');
    const never = await l.exec(l.vm, ['python3', PROGRAM, '--root', root, '--metadata-timeout', '1', '--wait', '1'], { reject: false });
    expect(never.exitCode).toBe(1);
    expect(String(never.stderr).trim()).toBe('vultr-sid-ipv6: no default route, so no uplink; pass --uplink IFACE or set uplink in ipv6.json');
    setTimeout(() => void addDefaultRoute(l), 2000);
    const out = await runProgram(l, root, ['--wait', '10']);
    expect(out).toMatchObject({ uplink: 'enp1s0', source: 'slaac', containerPrefix: '2001:db8:6:6::/80' });
  });

  it('an instance without public IPv4 (a 100.68.0.0/18 lease, a route to the metadata only, no IPv4 default route): the IPv6 default route is the uplink at once; nothing waits for an IPv4 one', { timeout: 120_000 }, async () => {
    lab = await network('2001:db8:9:9:5400:ff:fe20:2295');
    await lab.exec(lab.vm, ['ip', 'addr', 'add', '100.68.0.5/18', 'dev', 'enp1s0']);
    await lab.exec(lab.vm, ['ip', 'route', 'add', '169.254.169.254', 'via', '100.68.0.1', 'dev', 'enp1s0']);
    expect((await lab.exec(lab.vm, ['ip', '-4', 'route', 'show', 'default'])).stdout).toBe('');
    const root = join(await tempDir(), 'root');
    const started = Date.now();
    const out = await runProgram(lab, root, ['--wait', '600']);
    expect(out).toMatchObject({ uplink: 'enp1s0', containerPrefix: '2001:db8:9:9::/80' });
    // A program that waited for an IPv4 default route first would wait its 600 s out (the test
    // above: without any default route it waits --wait out, then fails).
    expect((Date.now() - started) / 1000).toBeLessThan(60);
  });

  it('--dry-run writes nothing, and Debian ndppd accepts the produced config', { timeout: 60_000 }, async () => {
    lab = await network('2001:db8:8:8:5400:ff:fe20:2295');
    const root = join(await tempDir(), 'root');
    const out = await runProgram(lab, root, ['--dry-run']);
    expect(out.changed.length).toBe(3);
    expect((await execa('ls', [root], { reject: false })).exitCode).not.toBe(0);
    // A real run, then ndppd must parse the config and keep running (an empty rule block
    // would make Debian's 0.2.5 exit at once).
    await runProgram(lab, root);
    const ndppd = lab.spawn(lab.vm, ['ndppd', '-c', join(root, 'etc/ndppd.conf')]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(ndppd.exitCode).toBeNull();
    ndppd.kill();
  });
});

/**
 * A directory for live runs: `etc` (an overlay's upper layer over /etc), `run` (bound over
 * /run), `bin` (a systemctl that only records), `local` (over /usr/local: the installed
 * system's shared shell functions).
 */
async function liveDir(): Promise<string> {
  const dir = await tempDir();
  for (const sub of ['etc', 'work', 'bin', 'run', 'local/lib', 'work-local']) await mkdir(join(dir, sub), { recursive: true });
  await cp(join(ROOT, 'templates/rootfs/usr/local/lib/vultr-sid-iso'), join(dir, 'local/lib/vultr-sid-iso'), { recursive: true });
  await writeFile(join(dir, 'bin/systemctl'), `#!/bin/sh\necho "$*" >> ${dir}/systemctl.log\n`, { mode: 0o755 });
  return dir;
}

/**
 * A command as at boot, inside the "vm" namespace, whose /proc/sys/net and nftables are its
 * own, with an overlay over /etc and a /run of the test's own in a private mount namespace
 * (writes land in `etc` and `run`, the machine's /etc and /run are never touched) and a
 * systemctl that only records.
 */
function live(l: Lab, dir: string, command: string) {
  const script = [
    'set -e',
    `mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/etc,workdir=${dir}/work /etc`,
    `mount -t overlay overlay -o lowerdir=/usr/local,upperdir=${dir}/local,workdir=${dir}/work-local /usr/local`,
    // What our programs tell the consoles goes nowhere: the test reads their standard error,
    // and this machine's own consoles are none of its business.
    'for c in $(sed -n "s/^\\([^ ]*\\) .*/\\1/p" /proc/consoles) ttyS0 tty0; do if [ -c "/dev/$c" ]; then mount --bind /dev/null "/dev/$c" || true; fi; done',
    `mount --bind ${dir}/run /run`,
    `exec env PATH=${dir}/bin:$PATH ${command}`,
  ].join('\n');
  return l.exec(l.vm, ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script], { reject: false, timeout: 40_000 });
}

/** The boot program's live path (no --root): what it printed, and the systemctl calls it made. */
async function runLive(l: Lab, dir: string, wait = 15): Promise<{ out: Outcome; systemctl: string[]; warnings: string[] }> {
  const calls = join(dir, 'systemctl.log');
  await writeFile(calls, '');
  const r = await live(l, dir, `python3 ${PROGRAM} --metadata-url ${METADATA_URL} --metadata-timeout 1 --wait ${wait}`);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  const systemctl = (await readFile(calls, 'utf8')).split('\n').filter(Boolean);
  return { out: JSON.parse(String(r.stdout)) as Outcome, systemctl, warnings: String(r.stderr).split('\n').filter(Boolean) };
}

async function defaultRouteFromRa(l: Lab): Promise<string> {
  return (await l.exec(l.vm, ['ip', '-6', 'route', 'show', 'default', 'proto', 'ra'])).stdout.trim();
}

async function waitForRaRoute(l: Lab): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const route = await defaultRouteFromRa(l);
    if (route) return route;
    await new Promise((r) => setTimeout(r, 200));
  }
  return '';
}

describe('vultr-sid-ipv6 as it runs at boot (no --root)', () => {
  it('sets accept_ra=2 before forwarding so the RA-learned default route survives, and restarts only what changed, without blocking', { timeout: 120_000 }, async () => {
    lab = await Lab.withUplink();
    const l = lab;
    const dir = await liveDir();
    const hostFiles = ['/etc/docker/daemon.json', '/etc/ndppd.conf', '/etc/sysctl.d/60-vultr-sid-ipv6.conf'];
    const snapshot = () => Promise.all(hostFiles.map((f) => readFile(f, 'utf8').catch(() => null)));
    const hostBefore = await snapshot();

    // Vultr's router advertises the on-link /64; the VM is a plain host (no forwarding yet,
    // accept_ra=1) and learns its SLAAC address and default route from it, as on a real VM.
    await l.sysctl(l.rtr, 'net.ipv6.conf.all.forwarding', '1');
    await writeFile(join(dir, 'radvd.conf'), [
      'interface rtr0 {',
      '  AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4; AdvDefaultLifetime 1800;',
      '  prefix 2001:db8:a:1::/64 { AdvOnLink on; AdvAutonomous on; };',
      '};',
      '',
    ].join('\n'));
    await l.sysctl(l.vm, 'net.ipv6.conf.enp1s0.accept_ra', '1');
    l.spawn(l.rtr, ['radvd', '--nodaemon', '--logmethod', 'stderr', '--config', join(dir, 'radvd.conf'), '--pidfile', join(dir, 'radvd.pid')]);
    expect(await waitForRaRoute(l), 'the vm never learned a default route from the router advertisement').toMatch(/^default via fe80::/);

    const first = await runLive(l, dir);
    expect(first.out).toMatchObject({ uplink: 'enp1s0', source: 'slaac', host: '2001:db8:a:1:5400:ff:fe20:2295', containerPrefix: '2001:db8:a:1::/80' });
    expect(first.out.changed.sort()).toEqual(hostFiles);
    const sysctl = async (key: string) => (await l.exec(l.vm, ['sysctl', '-n', key])).stdout.trim();
    expect(await sysctl('net.ipv6.conf.enp1s0.accept_ra')).toBe('2');
    expect(await sysctl('net.ipv6.conf.all.forwarding')).toBe('1');
    expect(await defaultRouteFromRa(l), 'forwarding on dropped the RA-learned default route').toMatch(/^default via fe80::/);
    // The units are ordered after this one: a blocking restart would wait for it forever.
    // ndppd is started (not only restarted) when its file appears: at boot, or when IPv6 comes late.
    expect(first.systemctl).toEqual(['--no-block try-restart docker.service', '--no-block restart ndppd.service', ...RESTARTED_WITH_STATE]);
    expect(JSON.parse(await readFile(join(dir, 'etc/docker/daemon.json'), 'utf8'))).toEqual({});
    expect(await snapshot(), "the machine's own /etc changed").toEqual(hostBefore);

    // The next boot: nothing changed, so nothing is restarted.
    const second = await runLive(l, dir);
    expect(second.out.changed).toEqual([]);
    expect(second.systemctl).toEqual([]);

    // Another /80 in the settings: ndppd.conf changes, and the Docker network moves (daemon.json
    // and the sysctl file do not depend on the /80 with exposure: published).
    await mkdir(join(dir, 'etc/vultr-sid-iso'), { recursive: true });
    await writeFile(join(dir, 'etc/vultr-sid-iso/ipv6.json'), JSON.stringify({ docker: { subnet: 7 } }));
    const third = await runLive(l, dir);
    expect(third.out.containerPrefix).toBe('2001:db8:a:1:7::/80');
    expect(third.out.changed.sort()).toEqual(['/etc/ndppd.conf']);
    expect(third.systemctl).toEqual(['--no-block restart ndppd.service', ...RESTARTED_WITH_STATE]);

    // The control: the same host with accept_ra=1 loses that route the moment forwarding
    // goes on, which is what the order above prevents. (The kernel purges only after an RA
    // added a router route since the last purge, hence the fresh route.)
    await l.sysctl(l.vm, 'net.ipv6.conf.enp1s0.accept_ra', '1');
    await l.sysctl(l.vm, 'net.ipv6.conf.all.forwarding', '0');
    await l.exec(l.vm, ['ip', '-6', 'route', 'flush', 'default', 'proto', 'ra']);
    expect(await waitForRaRoute(l)).toMatch(/^default via fe80::/);
    await l.sysctl(l.vm, 'net.ipv6.conf.all.forwarding', '1');
    expect(await defaultRouteFromRa(l)).toBe('');
  });
});

/** busybox ping at 5 a second from the router to each address for SECONDS; the NDP it took, and the replies missed. */
async function pingOverTime(l: Lab, addresses: string[], seconds: number): Promise<{ tally: NdpTally; lost: number }> {
  const capture = await captureNdp(l.rtr, 'rtr0');
  const runs = await Promise.all(addresses.map((a) => l.exec(l.rtr, ['busybox', 'ping', '-6', '-q', '-i', '0.2', '-w', String(seconds), a], { reject: false, timeout: (seconds + 20) * 1000 })));
  const lost = runs.reduce((sum, r) => {
    const m = /(\d+) packets transmitted, (\d+) packets received/.exec(String(r.stdout));
    expect(m, String(r.stdout)).not.toBeNull();
    return sum + Number(m![1]) - Number(m![2]);
  }, 0);
  return { tally: await capture.stop(addresses), lost };
}

describe('every address in the /80, at once and over time (Debian\'s ndppd 0.2.5)', () => {
  it('ndppd "static" answers the router for 10 containers at once, "auto" does not (the control); the kernel answers the router\'s unicast probes for proxy entries, ndppd never does', { timeout: 180_000 }, async () => {
    lab = await network('2001:db8:c:3:5400:ff:fe20:2295');
    const l = lab;
    const dir = await liveDir();
    const run = await runLive(l, dir, 2);
    expect(run.out.containerPrefix).toBe('2001:db8:c:3::/80');
    const conf = join(dir, 'etc/ndppd.conf');
    expect(await readFile(conf, 'utf8')).toMatch(/rule 2001:db8:c:3::\/80 \{\s+static\s+\}/);
    const addresses = await containers(l, run.out.containerPrefix!, 10);
    // (An object, not the child itself: an async function would wait for a returned child to end.)
    const ndppd = async (file: string) => {
      const child = l.spawn(l.vm, ['ndppd', '-c', file]);
      await new Promise((r) => setTimeout(r, 1500));
      return { stop: async () => void (child.kill(), await child) };
    };

    let daemon = await ndppd(conf);
    expect(await answeredOnce(l, addresses), 'static: every container answers the first time').toBe(10);
    await daemon.stop();
    // The control: the rule this project wrote before, which the same check must fail.
    const autoConf = join(dir, 'ndppd-auto.conf');
    await writeFile(autoConf, (await readFile(conf, 'utf8')).replace(/\bstatic\b/, 'auto'));
    daemon = await ndppd(autoConf);
    const auto = await answeredOnce(l, addresses);
    console.log(`Debian's ndppd 0.2.5 with "auto": ${auto} of 10 container addresses answered`);
    expect(auto).toBeLessThan(10);
    await daemon.stop();

    // Over time: the router's entries age within a second and a half, so every few seconds it
    // checks them with unicast probes.
    daemon = await ndppd(conf);
    await l.sysctl(l.rtr, 'net.ipv6.neigh.rtr0.base_reachable_time_ms', '1000');
    await l.sysctl(l.rtr, 'net.ipv6.neigh.rtr0.delay_first_probe_time', '1');
    const probed = addresses.slice(0, 3);
    const ndppdAlone = await pingOverTime(l, probed, 12);
    console.log(`ndppd alone: ${JSON.stringify(ndppdAlone)}`);
    expect(ndppdAlone.tally.unicast, 'the router sent no unicast probes: the check below would prove nothing').toBeGreaterThan(0);
    expect(ndppdAlone.tally.unicastAnswered).toBe(0);
    // What vultr-sid-ndp-proxy adds for running containers (the program set proxy_ndp).
    for (const address of probed) await l.exec(l.vm, ['ip', '-6', 'neigh', 'replace', 'proxy', address, 'dev', 'enp1s0']);
    const withKernel = await pingOverTime(l, probed, 12);
    console.log(`ndppd and the kernel's proxy entries: ${JSON.stringify(withKernel)}`);
    expect(withKernel.tally.unicast).toBeGreaterThan(0);
    expect(withKernel.tally.unicastAnswered).toBe(withKernel.tally.unicast);
    expect(withKernel.lost).toBe(0);
    await daemon.stop();
  });
});

const GUARD_SCRIPT = join(ROOT, 'templates/rootfs/usr/local/sbin/vultr-sid-metadata-guard');
const GUARD_RULES = join(ROOT, 'templates/rootfs/etc/vultr-sid-iso/metadata-guard.nft');
/** What Vultr's metadata says about an IPv4-only VM's interface. */
const NO_IPV6_METADATA = { hostname: 'vm', 'instance-v2-id': '7a1b2c3d-0000-4000-8000-000000000001', interfaces: [{ mac: VM_MAC, 'network-type': 'public', ipv6: { additional: [], address: '', network: '', prefix: '' } }] };

/**
 * The VM's IPv4 side as at Vultr: an address and a default route to the router, which also
 * holds the metadata service at 169.254.169.254; no IPv6 on the link. Behind the VM a
 * container on a bridge, forwarded and masqueraded as Docker's default bridge does it.
 */
async function ipv4Only(l: Lab, dir: string): Promise<{ ctr: string; reads: (ns: string) => Promise<boolean> }> {
  await l.exec(l.rtr, ['ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'rtr0']);
  await l.exec(l.vm, ['ip', 'addr', 'add', '198.51.100.10/24', 'dev', 'enp1s0']);
  await l.exec(l.vm, ['ip', 'route', 'add', 'default', 'via', '198.51.100.1']);
  await l.serveMetadata(l.rtr, join(dir, 'v1.json'), NO_IPV6_METADATA);
  const ctr = `vsi-ctr-${l.id}`;
  await l.ns(ctr);
  await l.exec(l.vm, ['ip', 'link', 'add', 'br-ctr', 'type', 'bridge']);
  await l.exec(l.vm, ['ip', 'link', 'set', 'br-ctr', 'up']);
  await l.exec(l.vm, ['ip', 'addr', 'add', '172.17.0.1/16', 'dev', 'br-ctr']);
  await l.link(ctr, 'eth0', l.vm, 'vethc');
  await l.exec(l.vm, ['ip', 'link', 'set', 'vethc', 'master', 'br-ctr']);
  await l.exec(ctr, ['ip', 'addr', 'add', '172.17.0.2/16', 'dev', 'eth0']);
  await l.exec(ctr, ['ip', 'route', 'add', 'default', 'via', '172.17.0.1']);
  await l.sysctl(l.vm, 'net.ipv4.ip_forward', '1');
  await l.exec(l.vm, ['nft', 'add table ip docker_like; add chain ip docker_like post { type nat hook postrouting priority srcnat; }; add rule ip docker_like post oifname "enp1s0" masquerade']);
  const reads = async (ns: string) => (await l.exec(ns, ['curl', '-fsS', '--max-time', '5', '-o', '/dev/null', 'http://169.254.169.254/v1.json'], { reject: false })).exitCode === 0;
  return { ctr, reads };
}

describe('a VM without IPv6, and the metadata guard', () => {
  it('the guard refuses a container the metadata service, not the VM; the boot program on an uplink without IPv6 leaves it in place', { timeout: 120_000 }, async () => {
    lab = await Lab.withUplink();
    const l = lab;
    const dir = await liveDir();
    const { ctr, reads } = await ipv4Only(l, dir);
    expect(await reads(ctr), 'the control: without the guard the container reads the metadata').toBe(true);

    await mkdir(join(dir, 'etc/vultr-sid-iso'), { recursive: true });
    await writeFile(join(dir, 'etc/vultr-sid-iso/metadata-guard.nft'), await readFile(GUARD_RULES));
    const applied = await live(l, dir, `sh ${GUARD_SCRIPT}`);
    expect(applied.exitCode, String(applied.stderr)).toBe(0);
    expect(await reads(ctr)).toBe(false);
    expect(await reads(l.vm), 'the VM itself still reads it').toBe(true);
    // Applying it again changes nothing (one table, one rule).
    expect((await live(l, dir, `sh ${GUARD_SCRIPT}`)).exitCode).toBe(0);
    expect((await l.exec(l.vm, ['nft', 'list', 'ruleset'])).stdout.match(/table inet vultr_sid_iso/g)).toHaveLength(1);

    const run = await runLive(l, dir, 2);
    expect(run.out).toMatchObject({ uplink: 'enp1s0', network: null, containerPrefix: null });
    expect(await reads(ctr), 'the boot program removed the guard').toBe(false);
    expect((await l.exec(l.vm, ['nft', 'list', 'table', 'inet', 'vultr_sid_iso'])).stdout).toMatch(/ip daddr 169\.254\.0\.0\/16 counter packets [1-9]\d* bytes \d+ reject with icmpx admin-prohibited/);
  });

  it('the guard fails closed: rules that cannot be applied end in one line and exit 1 (docker.service requires it)', { timeout: 60_000 }, async () => {
    lab = await Lab.withUplink();
    const dir = await liveDir();
    await mkdir(join(dir, 'etc/vultr-sid-iso'), { recursive: true });
    await writeFile(join(dir, 'etc/vultr-sid-iso/metadata-guard.nft'), 'table inet vultr_sid_iso {\n  chain forward { type filter hook nowhere priority 0; }\n}\n');
    const r = await live(lab, dir, `sh ${GUARD_SCRIPT}`);
    expect(r.exitCode).toBe(1);
    const lines = String(r.stderr).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^vultr-sid-iso: Docker will not start: containers could not be kept away from the metadata service \(nft -f \/etc\/vultr-sid-iso\/metadata-guard\.nft: .+\)$/);
  });

  it('no metadata service and no router advertisement: the metadata\'s line, then why there is no IPv6, after waiting for SLAAC', { timeout: 60_000 }, async () => {
    lab = await Lab.withUplink();
    const l = lab;
    await l.exec(l.rtr, ['ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'rtr0']);
    await l.exec(l.vm, ['ip', 'addr', 'add', '198.51.100.10/24', 'dev', 'enp1s0']);
    await l.exec(l.vm, ['ip', 'route', 'add', 'default', 'via', '198.51.100.1']);
    const run = await runLive(l, await liveDir(), 2);
    expect(run.out).toMatchObject({ network: null, containerPrefix: null });
    expect(run.warnings).toHaveLength(2);
    expect(run.warnings[0]).toMatch(/^vultr-sid-ipv6: metadata at http:\/\/169\.254\.169\.254\/v1\.json not available \(.+\); using the uplink's SLAAC address$/);
    expect(run.warnings[1]).toBe('vultr-sid-ipv6: no public IPv6 for containers: enp1s0 got no global /64 from a router advertisement within 2 s; Docker runs with IPv4 only until the VM has IPv6 (enable it on the instance; it is picked up within a minute)');
  });

  it('IPv4 only: one warning line, the IPv6 files of an earlier boot removed, Docker restarted to IPv4; a /64 that comes later is picked up by the recheck', { timeout: 120_000 }, async () => {
    lab = await Lab.withUplink();
    const l = lab;
    const dir = await liveDir();
    await ipv4Only(l, dir);
    // An earlier boot of this disk had IPv6 (all-ports): its files must not outlive it.
    await mkdir(join(dir, 'etc/docker'), { recursive: true });
    await mkdir(join(dir, 'etc/sysctl.d'), { recursive: true });
    await writeFile(join(dir, 'etc/docker/daemon.json'), JSON.stringify({ 'log-driver': 'journald', ipv6: true, 'fixed-cidr-v6': '2001:db8:1::/80', ip6tables: false }));
    await writeFile(join(dir, 'etc/ndppd.conf'), 'proxy enp1s0 { rule 2001:db8:1::/80 { auto } }\n');
    await writeFile(join(dir, 'etc/sysctl.d/60-vultr-sid-ipv6.conf'), 'net.ipv6.conf.all.forwarding = 1\n');

    const first = await runLive(l, dir, 2);
    expect(first.out).toMatchObject({ uplink: 'enp1s0', network: null, source: null, containerPrefix: null });
    expect(first.warnings).toEqual([
      "vultr-sid-ipv6: no public IPv6 for containers: Vultr's metadata lists no IPv6 network for enp1s0, and it has no global /64 address; Docker runs with IPv4 only until the VM has IPv6 (enable it on the instance; it is picked up within a minute)",
    ]);
    expect(first.out.changed.sort()).toEqual(['/etc/docker/daemon.json', '/etc/ndppd.conf', '/etc/sysctl.d/60-vultr-sid-ipv6.conf']);
    expect(JSON.parse(await readFile(join(dir, 'etc/docker/daemon.json'), 'utf8'))).toEqual({ 'log-driver': 'journald' });
    expect((await stat(join(dir, 'etc/ndppd.conf')).catch(() => null)) === null, 'ndppd.conf').toBe(true);
    // Only accept_ra=2 is left, and set: whatever turns forwarding on later, RAs are still heard.
    expect((await readFile(join(dir, 'etc/sysctl.d/60-vultr-sid-ipv6.conf'), 'utf8')).split('\n').filter((line) => line && !line.startsWith('#'))).toEqual(['net/ipv6/conf/enp1s0/accept_ra = 2']);
    expect((await l.exec(l.vm, ['sysctl', '-n', 'net.ipv6.conf.enp1s0.accept_ra'])).stdout.trim()).toBe('2');
    expect(first.systemctl).toEqual(['--no-block try-restart docker.service', '--no-block try-restart ndppd.service', ...RESTARTED_WITH_STATE]);
    expect(JSON.parse(await readFile(join(dir, 'run/vultr-sid-ipv6/state.json'), 'utf8'))).toMatchObject({ ipv6: false, containerPrefix: null });
    const appeared = async () => (await live(l, dir, `python3 ${PROGRAM} --ipv6-appeared`)).exitCode ?? -1;
    expect(await appeared()).toBe(1);
    // Forwarding stays as it was: nothing of ours turns it on without IPv6.
    expect((await l.exec(l.vm, ['sysctl', '-n', 'net.ipv6.conf.all.forwarding'])).stdout.trim()).toBe('0');
    // Something else does (Docker, the admin) before the /64 arrives.
    await l.sysctl(l.vm, 'net.ipv6.conf.all.forwarding', '1');

    // The router starts to advertise a /64 (IPv6 enabled on the instance, or a late RA).
    await l.sysctl(l.rtr, 'net.ipv6.conf.all.forwarding', '1');
    await writeFile(join(dir, 'radvd.conf'), 'interface rtr0 {\n  AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4; AdvDefaultLifetime 1800;\n  prefix 2001:db8:b:2::/64 { AdvOnLink on; AdvAutonomous on; };\n};\n');
    // The control first: with forwarding on and accept_ra=1 (the kernel's default) the VM
    // ignores the advertisements, so the /64 would never be learned.
    await l.sysctl(l.vm, 'net.ipv6.conf.enp1s0.accept_ra', '1');
    l.spawn(l.rtr, ['radvd', '--nodaemon', '--logmethod', 'stderr', '--config', join(dir, 'radvd.conf'), '--pidfile', join(dir, 'radvd.pid')]);
    await new Promise((r) => setTimeout(r, 9000));
    expect(await defaultRouteFromRa(l), 'with accept_ra=1 and forwarding on, an RA was heard: the control shows nothing').toBe('');
    expect(await appeared()).toBe(1);
    // As the boot program left it: accept_ra=2.
    await l.sysctl(l.vm, 'net.ipv6.conf.enp1s0.accept_ra', '2');
    expect(await waitForRaRoute(l)).toMatch(/^default via fe80::/);
    let status = 1;
    for (let i = 0; i < 50 && status !== 0; i++) {
      status = await appeared();
      if (status !== 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status, 'the recheck condition never saw the /64').toBe(0);

    const second = await runLive(l, dir, 5);
    expect(second.out).toMatchObject({ source: 'slaac', network: '2001:db8:b:2::/64', containerPrefix: '2001:db8:b:2::/80' });
    expect(second.warnings).toEqual([]);
    expect(second.systemctl).toEqual(['--no-block restart ndppd.service', ...RESTARTED_WITH_STATE]);
    expect(await readFile(join(dir, 'etc/ndppd.conf'), 'utf8')).toMatch(/rule 2001:db8:b:2::\/80/);
    expect((await stat(join(dir, 'run/vultr-sid-ipv6/no-ipv6')).catch(() => null)) === null, 'the recheck flag outlived IPv6').toBe(true);
    expect(await defaultRouteFromRa(l), 'forwarding on dropped the RA-learned default route').toMatch(/^default via fe80::/);
    expect(await appeared()).toBe(1);
  });
});
