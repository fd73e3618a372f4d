// A Vultr-like lab for one VM: everything the VM talks to lives in a network namespace the lab
// creates ("the router"), and nothing leaves it.
//
//   QEMU (TCG, or KVM where it works) ── tap ── router namespace:
//     br0  198.51.100.1/24 and 2001:db8:5:16:ffff::1/64
//     dnsmasq   DHCPv4 (the VM's MAC gets 198.51.100.10, router 198.51.100.1), as Vultr's DHCP
//     radvd     router advertisements for 2001:db8:5:16::/64 (on-link, SLAAC), as Vultr's router
//     169.254.169.254:80 on lo, reached through the default gateway: the metadata service
//   With `internet` (the nightly's full install, which needs Debian's mirror): a veth to the host,
//   IPv4 masqueraded by the router and again by the host, and DNS from dnsmasq (forwarding to
//   the host's upstream servers). Without it nothing leaves the namespace.
//
// The VM has a virtio NIC behind a PCIe root port (enp1s0 in the guest, as on Vultr) with a
// Vultr-style MAC, and SMBIOS "Vultr" with serial = uuid = the instance id, which is what
// cloud-init's Vultr datasource detects and compares on later boots.
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';
import { accelArgs, GuestDied, kvmUsable, OVMF_CODE, OVMF_VARS, serialArgs } from '../qemu-boot.js';
import { ConsoleWatch, consoleTail, describeDeath, harnessMayRetry, PANIC_REBOOTS, type Death } from '../qemu-watch.js';

export const VM_MAC = '56:00:00:20:22:95';
export const VM_IPV4 = '198.51.100.10';
export const ROUTER_IPV4 = '198.51.100.1';
/**
 * An instance without public IPv4 (disable_public_ipv4) as a user saw one on 2026-08-28
 * (vultr/vultr-cli#586): a DHCP lease in 100.68.0.0/18 (RFC 6598) whose only route is the
 * classless one to the metadata service, no default route; IPv6 from router advertisements.
 */
export const IPV6_ONLY = { vm: '100.68.0.10', router: '100.68.0.1', prefixLength: 18 };
/** The VM's /64, announced by radvd. */
export const NETWORK_64 = '2001:db8:5:16::/64';
/** The router's own address in a /64 (not ::1, which a Docker bridge on the first /80 takes). */
const routerAddress = (network64: string) => network64.replace(/::\/64$/, ':ffff::1');
export const ROUTER_IPV6 = routerAddress(NETWORK_64);
const METADATA_SERVER = join(PROJECT_ROOT, 'dist/scripts/lab/metadata-server.js');

export interface VmOptions {
  name: string;
  /** Raw disk image; the VM writes to a qcow2 overlay in the lab's directory, kept across boots of the same name. */
  disk: string;
  /** Boot this kernel directly (else the disk's or the CD's boot loader); `panic=-1` is added. */
  direct?: { kernel: string; initrd?: string; append: string };
  /** An ISO attached as a CD (booted first when there is no direct kernel). */
  cdrom?: string;
  firmware?: 'bios' | 'uefi';
  instanceId: string;
  memoryMiB?: number;
  cpus?: number;
  /** The guest may reboot (QEMU boots it again); otherwise a reboot ends QEMU (-no-reboot). */
  reboots?: boolean;
  /** TCG settings other than the lab's (scripts/lab/boot-rate.ts measures them). */
  tcg?: { thread?: 'multi' | 'single'; cpu?: string };
  /** Boot once more after a death before init under TCG (default: yes; off to measure). */
  retry?: boolean;
}

export class VultrLab {
  readonly ns: string;
  readonly tap: string;
  private readonly children: ResultPromise[] = [];
  private vm: LabVm | undefined;

  private constructor(
    readonly dir: string,
    id: string,
  ) {
    this.ns = `vsl-${id}`;
    this.tap = `vsltap${id}`.slice(0, 15);
  }

  /** `internet`: a way out to Debian's mirror (the full install). */
  static async up(dir: string, options: { internet?: boolean } = {}): Promise<VultrLab> {
    await sweepDeadLabs();
    const lab = new VultrLab(dir, `${process.pid}`);
    try {
      await lab.start(options.internet ?? false);
    } catch (error) {
      await lab.down();
      throw error;
    }
    return lab;
  }

  private uplink: Uplink | undefined;

  private async start(internet: boolean): Promise<void> {
    await execa('ip', ['netns', 'add', this.ns]);
    await this.router(['ip', 'link', 'set', 'lo', 'up']);
    await this.router(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    await this.router(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    await this.router(['ip', 'link', 'set', 'br0', 'up']);
    await this.router(['ip', 'addr', 'add', `${ROUTER_IPV4}/24`, 'dev', 'br0']);
    await this.router(['ip', '-6', 'addr', 'add', `${ROUTER_IPV6}/64`, 'dev', 'br0', 'nodad']);
    await this.router(['ip', 'addr', 'add', '169.254.169.254/32', 'dev', 'lo']);
    // The tap is made in the router's namespace; QEMU, started there, attaches to it.
    await this.router(['ip', 'tuntap', 'add', 'dev', this.tap, 'mode', 'tap']);
    await this.router(['ip', 'link', 'set', this.tap, 'master', 'br0']);
    await this.router(['ip', 'link', 'set', this.tap, 'up']);

    if (internet) this.uplink = await Uplink.add(this);
    this.dhcp(['--dhcp-range=198.51.100.100,198.51.100.199,255.255.255.0,1h', `--dhcp-host=${VM_MAC},${VM_IPV4}`, `--dhcp-option=option:router,${ROUTER_IPV4}`]);
    await this.advertise(NETWORK_64);
    await this.setMetadata({});
    await mkdir(join(this.dir, 'files'), { recursive: true });
    this.spawn('metadata', [process.execPath, METADATA_SERVER, '--files', join(this.dir, 'files'), '169.254.169.254', '80', join(this.dir, 'v1.json'), join(this.dir, 'metadata-requests.jsonl')]);
    for (let i = 0; ; i++) {
      const probe = await this.router(['curl', '-fsS', '--max-time', '1', '-o', '/dev/null', 'http://169.254.169.254/'], { reject: false });
      if (probe.exitCode === 0) break;
      if (i === 50) throw new Error('the lab metadata service did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private dnsmasq: ResultPromise | undefined;

  /** dnsmasq, DHCPv4 only, with these lease options (and DNS from the uplink's servers when the lab has one). */
  private dhcp(lease: string[]): void {
    const dns = this.uplink ? ['--no-resolv', ...this.uplink.nameservers.map((n) => `--server=${n}`), `--dhcp-option=option:dns-server,${ROUTER_IPV4}`] : ['--port=0'];
    this.dnsmasq = this.spawn('dnsmasq', ['dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', ...dns, '--interface=br0', '--bind-interfaces', '--user=root',
      ...lease, `--dhcp-leasefile=${join(this.dir, 'dnsmasq.leases')}`, '--pid-file=', '--log-dhcp', `--log-facility=${join(this.dir, 'dnsmasq.log')}`]);
  }

  /** Where the router reaches the VM over IPv4 (SSH, host keys): its lease. */
  vmAddress = VM_IPV4;

  /**
   * From now on the network of an instance without public IPv4 (IPV6_ONLY): the VM's next
   * lease is 100.68.0.10/18 with no router option and only the classless static route (option
   * 121) to 169.254.169.254 via 100.68.0.1; NETWORK64 is advertised for SLAAC and the default
   * route. The router stays the VM's on-link neighbour on 100.68.0.1.
   */
  async ipv6OnlyNetwork(network64: string): Promise<void> {
    this.dnsmasq?.kill('SIGTERM');
    await this.dnsmasq;
    await this.router(['ip', 'addr', 'add', `${IPV6_ONLY.router}/${IPV6_ONLY.prefixLength}`, 'dev', 'br0']);
    await rm(join(this.dir, 'dnsmasq.leases'), { force: true });
    this.dhcp(['--dhcp-range=100.68.0.100,100.68.0.199,255.255.192.0,1h', `--dhcp-host=${VM_MAC},${IPV6_ONLY.vm}`,
      '--dhcp-option=3', `--dhcp-option=121,169.254.169.254/32,${IPV6_ONLY.router}`]);
    await this.moveNetwork(network64);
    this.vmAddress = IPV6_ONLY.vm;
  }

  private radvd: ResultPromise | undefined;

  /** radvd announces NETWORK (a /64) from now on, on-link and for SLAAC. */
  async advertise(network64: string): Promise<void> {
    await this.stopAdvertising();
    const [network] = network64.split('/');
    await writeFile(join(this.dir, 'radvd.conf'), `interface br0 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 10;\n  AdvDefaultLifetime 1800;\n  prefix ${network}/64 { AdvOnLink on; AdvAutonomous on; };\n};\n`);
    this.radvd = this.spawn('radvd', ['radvd', '--nodaemon', '-C', join(this.dir, 'radvd.conf'), '-p', join(this.dir, 'radvd.pid'), '-m', 'logfile', '-l', join(this.dir, 'radvd.log')]);
  }

  /** The router stops advertising (radvd's last advertisement withdraws its default route). */
  async stopAdvertising(): Promise<void> {
    this.radvd?.kill('SIGTERM'); // not SIGKILL: radvd removes its pid file, or the next one refuses to start
    await this.radvd;
    this.radvd = undefined;
  }

  /**
   * The router announces another /64 from now on, as the VM would see it when a snapshot of it
   * is restored into a new instance. The router keeps an address in the old one too.
   */
  async moveNetwork(network64: string): Promise<void> {
    await this.router(['ip', '-6', 'addr', 'add', `${routerAddress(network64)}/64`, 'dev', 'br0', 'nodad']);
    await this.advertise(network64);
  }

  /** Vultr's /v1.json from now on (the server re-reads it for every request). */
  async setMetadata(metadata: object): Promise<void> {
    await writeFile(join(this.dir, 'v1.json'), JSON.stringify(metadata, null, 2));
  }

  /**
   * An object store stand-in at [ADDRESS]:PORT in the router's namespace, taking PUTs of
   * /lab/NAME into DIR/received (a VM's install report, on whatever network the test chose);
   * returns the base URL and a reader for what arrived.
   */
  async receiveFiles(address: string, port: number): Promise<{ url: string; received: (name: string) => Promise<string | undefined> }> {
    const dir = join(this.dir, 'received');
    await mkdir(dir, { recursive: true });
    this.spawn(`receiver-${port}`, [process.execPath, METADATA_SERVER, '--files', dir, address, String(port), join(this.dir, 'v1.json')]);
    const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    for (let i = 0; ; i++) {
      if ((await this.router(['curl', '-g', '-sS', '--max-time', '1', '-o', '/dev/null', `${url}/`], { reject: false })).exitCode === 0) break;
      if (i === 50) throw new Error(`the lab's receiver at ${url} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { url, received: (name) => readFile(join(dir, name), 'utf8').catch(() => undefined) };
  }

  /** Serves the file at http://169.254.169.254/lab/NAME from now on (what user-data may fetch; the lab has no internet). */
  async serveFile(name: string, path: string): Promise<string> {
    await copyFile(path, join(this.dir, 'files', name));
    return `http://169.254.169.254/lab/${name}`;
  }

  async metadataRequests(): Promise<{ path: string; token?: string; agent?: string }[]> {
    const text = await readFile(join(this.dir, 'metadata-requests.jsonl'), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path: string; token?: string; agent?: string });
  }

  /** A command in the router's namespace. */
  router(cmd: string[], options: { reject?: boolean; timeout?: number; input?: string } = {}) {
    return execa('ip', ['netns', 'exec', this.ns, ...cmd], { reject: options.reject ?? true, timeout: options.timeout ?? 60_000, input: options.input });
  }

  private spawn(name: string, cmd: string[]): ResultPromise {
    const child = execa('ip', ['netns', 'exec', this.ns, ...cmd], { reject: false, stdout: { file: join(this.dir, `${name}.out`) }, stderr: { file: join(this.dir, `${name}.err`) } });
    this.children.push(child);
    return child;
  }

  /** Starts the VM (one at a time) with its serial console in DIR/serial-NAME.log. */
  async boot(options: VmOptions): Promise<LabVm> {
    if (this.vm?.running) throw new Error(`the lab already runs ${this.vm.name}`);
    const overlay = join(this.dir, `${options.name}.qcow2`);
    if (!existsSync(overlay)) await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', options.disk, '-F', 'raw', overlay]);
    const kvm = kvmUsable();
    const serialPath = join(this.dir, `serial-${options.name}.log`);
    const tcg = options.tcg ? ['-accel', `tcg,thread=${options.tcg.thread ?? 'multi'}`, '-cpu', options.tcg.cpu ?? 'max'] : accelArgs(false);
    const args = [
      '-machine', 'q35',
      ...(kvm ? accelArgs(true) : tcg),
      '-m', String(options.memoryMiB ?? 1024), '-smp', String(options.cpus ?? 2),
      '-display', 'none', '-monitor', 'none', ...serialArgs(serialPath),
      ...(options.reboots ? [] : ['-no-reboot']),
      '-smbios', `type=1,manufacturer=Vultr,product=VC2,serial=${options.instanceId},uuid=${options.instanceId}`,
      '-drive', `file=${overlay},format=qcow2,if=virtio`,
      '-device', 'pcie-root-port,id=rp1,chassis=1,bus=pcie.0,addr=0x2',
      '-netdev', `tap,id=n0,ifname=${this.tap},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=n0,mac=${VM_MAC},bus=rp1`,
    ];
    if (options.cdrom) args.push('-drive', `file=${options.cdrom},media=cdrom,if=ide,readonly=on`, '-boot', 'order=dc');
    if (options.direct) {
      args.push('-kernel', options.direct.kernel, '-append', `${options.direct.append} ${PANIC_REBOOTS}`);
      if (options.direct.initrd) args.push('-initrd', options.direct.initrd);
    }
    if (options.firmware === 'uefi') {
      const vars = join(this.dir, `OVMF_VARS-${options.name}.fd`);
      if (!existsSync(vars)) await copyFile(OVMF_VARS, vars);
      args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
    }
    await writeFile(serialPath, '');
    const start = () => execa('ip', ['netns', 'exec', this.ns, 'qemu-system-x86_64', ...args], { reject: false, stderr: { file: join(this.dir, `qemu-${options.name}.err`), append: true } });
    this.vm = await LabVm.start(options.name, serialPath, start, { kvm, retry: options.retry ?? true }, this);
    return this.vm;
  }

  async down(): Promise<void> {
    await this.vm?.kill();
    for (const child of this.children) child.kill('SIGKILL');
    await Promise.allSettled(this.children);
    await this.uplink?.remove();
    await execa('ip', ['netns', 'del', this.ns], { reject: false });
  }
}

/** Where a lab lists what it changed on the host, so a lab whose process died (SIGKILL, a machine
 * restart) can be undone by the next one. */
const HOST_UNDO_DIR = '/run/vultr-sid-iso-lab';

/** The host's net.ipv4.ip_forward before the first lab that needed it on; restored when the last
 * one leaves (two labs at once must not switch it off under each other). */
const FORWARDING_WAS = join(HOST_UNDO_DIR, 'ip_forward');

/** A lab's process is alive; this process's own pid counts as dead: it has no lab yet, so a lab
 * under its number was left by an earlier process that had the same pid. */
const alive = (pid: string) => pid !== String(process.pid) && existsSync(`/proc/${pid}`);

/**
 * Removes what labs of dead processes left behind: their namespaces with everything running in
 * them, and their changes to the host (veth, NAT table, forwarding), undone from their records.
 */
export async function sweepDeadLabs(): Promise<void> {
  const { stdout } = await execa('ip', ['netns', 'list']);
  for (const pid of [...stdout.matchAll(/^vsl-(\d+)\b/gm)].map((m) => m[1]!).filter((p) => !alive(p))) {
    const { stdout: pids } = await execa('ip', ['netns', 'pids', `vsl-${pid}`], { reject: false });
    for (const p of pids.split('\n').filter(Boolean)) await execa('kill', ['-KILL', p], { reject: false });
    await execa('ip', ['netns', 'del', `vsl-${pid}`], { reject: false });
  }
  for (const pid of await labRecords()) {
    if (alive(pid)) continue;
    const record = join(HOST_UNDO_DIR, `${pid}.json`);
    await undoAll(JSON.parse(await readFile(record, 'utf8').catch(() => '[]')) as string[][]);
    await rm(record, { force: true });
  }
  await restoreForwarding();
}

/** Runs a lab's undo commands, last first; each may find its change gone already. */
async function undoAll(undo: string[][]): Promise<void> {
  for (const cmd of [...undo].reverse()) await execa(cmd[0]!, cmd.slice(1), { reject: false });
}

async function labRecords(): Promise<string[]> {
  return (await readdir(HOST_UNDO_DIR).catch(() => [] as string[])).filter((f) => /^\d+\.json$/.test(f)).map((f) => f.replace('.json', ''));
}

/** Puts ip_forward back once no live lab has a record. */
async function restoreForwarding(): Promise<void> {
  const was = (await readFile(FORWARDING_WAS, 'utf8').catch(() => '')).trim();
  if (!was || (await labRecords()).some(alive)) return;
  await execa('sysctl', ['-qw', `net.ipv4.ip_forward=${was}`], { reject: false });
  await rm(FORWARDING_WAS, { force: true });
}

/**
 * The router's way out, for installs that need Debian's mirror: a veth from the host, IPv4
 * masqueraded twice (the lab's addresses never reach the host's tables, so they cannot clash
 * with the host's own network). Everything added to the host is removed again.
 */
class Uplink {
  private readonly undo: string[][] = [];
  private readonly record = join(HOST_UNDO_DIR, `${process.pid}.json`);

  private constructor(
    readonly nameservers: string[],
    private readonly hostSide: string,
  ) {}

  /** Records how to undo a change before making it. */
  private async willUndo(...cmds: string[][]): Promise<void> {
    this.undo.push(...cmds);
    await mkdir(HOST_UNDO_DIR, { recursive: true });
    await writeFile(this.record, JSON.stringify(this.undo));
  }

  static async add(lab: VultrLab): Promise<Uplink> {
    const id = lab.ns.replace(/\D/g, '');
    const uplink = new Uplink(await upstreamNameservers(), `vslh${id}`);
    try {
      await uplink.connect(lab, id);
    } catch (error) {
      await uplink.remove();
      throw error;
    }
    return uplink;
  }

  private async connect(lab: VultrLab, id: string): Promise<void> {
    const hostSide = this.hostSide;
    // A /30 in 10.254.0.0/16 picked by the process id, so concurrent labs rarely meet.
    const n = (Number(id) % 16384) * 4;
    const net = `10.254.${n >> 8}.${n & 255}`;
    const [hostIp, routerIp] = [1, 2].map((k) => `10.254.${n >> 8}.${(n & 255) + k}`);
    await this.willUndo(['ip', 'link', 'del', hostSide]);
    await execa('ip', ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'up0', 'netns', lab.ns]);
    await execa('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostSide]);
    await execa('ip', ['link', 'set', hostSide, 'up']);
    await lab.router(['ip', 'addr', 'add', `${routerIp}/30`, 'dev', 'up0']);
    await lab.router(['ip', 'link', 'set', 'up0', 'up']);
    await lab.router(['ip', 'route', 'add', 'default', 'via', hostIp!]);
    await lab.router(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await lab.router(['nft', `add table ip lab; add chain ip lab post { type nat hook postrouting priority srcnat; }; add rule ip lab post oifname "up0" masquerade`]);
    const { stdout: forwarding } = await execa('sysctl', ['-n', 'net.ipv4.ip_forward']);
    if (forwarding.trim() !== '1') {
      await mkdir(HOST_UNDO_DIR, { recursive: true });
      // 'wx': a lab that switched it on first has recorded the value before, keep that one.
      await writeFile(FORWARDING_WAS, forwarding.trim(), { flag: 'wx' }).catch(() => undefined);
      await execa('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    }
    const table = `vsl_${id}`;
    await this.willUndo(['nft', 'delete', 'table', 'ip', table]);
    await execa('nft', [`add table ip ${table}; add chain ip ${table} post { type nat hook postrouting priority srcnat; }; add rule ip ${table} post ip saddr ${net}/30 masquerade`]);
    // A host running Docker drops forwarded traffic by default (iptables FORWARD policy DROP).
    const rules = [['-i', hostSide, '-j', 'ACCEPT'], ['-o', hostSide, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']];
    if ((await execa('iptables', ['-w', '-S', 'FORWARD'], { reject: false })).exitCode === 0) {
      await this.willUndo(...rules.map((rule) => ['iptables', '-w', '-D', 'FORWARD', ...rule]));
      for (const rule of rules) await execa('iptables', ['-w', '-I', 'FORWARD', '1', ...rule]);
    }
  }

  async remove(): Promise<void> {
    await undoAll(this.undo);
    await rm(this.record, { force: true });
    await restoreForwarding();
  }
}

/** The host's DNS servers, past systemd-resolved's loopback stub (which the lab cannot reach). */
async function upstreamNameservers(): Promise<string[]> {
  for (const file of ['/run/systemd/resolve/resolv.conf', '/etc/resolv.conf']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const servers = [...text.matchAll(/^nameserver\s+(\S+)/gm)].map((m) => m[1]!).filter((s) => !s.startsWith('127.') && s !== '::1' && !s.includes(':'));
    if (servers.length) return servers;
  }
  throw new Error('the host has no DNS server the lab can forward to (/etc/resolv.conf lists only loopback ones)');
}

export class LabVm {
  running = true;
  /** Why the guest died, as one line, once it has (scripts/qemu-watch.ts). */
  died: string | undefined;
  /** Why its first boot died, when the harness booted it once more. */
  retried: string | undefined;
  private qemu!: ResultPromise;
  private watch!: ConsoleWatch;
  /** The console of earlier QEMUs that still counts: all but the boot that died (a retry replaces it). */
  private kept = '';
  /** kill() was called: nothing starts again. */
  private stopped = false;
  private exitedPromise!: Promise<unknown>;
  private readonly poller: NodeJS.Timeout;
  /** Checks run one after another (the poller's and the one when QEMU exits). */
  private checks: Promise<void> = Promise.resolve();
  /** Aborted when the guest dies: an SSH attempt in flight ends at once. */
  private readonly dead = new AbortController();
  /** Host time (ms) at which each serial pattern was first seen by watch(). */
  private readonly seen = new Map<string, number>();

  private constructor(
    private readonly lab: VultrLab,
    readonly name: string,
    readonly serialPath: string,
    private readonly spawn: () => ResultPromise,
    private readonly settings: { kvm: boolean; retry: boolean },
  ) {
    // A dead guest is noticed within a second, whatever the test is waiting for.
    this.poller = setInterval(() => void this.check(), 1000);
    this.poller.unref();
  }

  static async start(name: string, serialPath: string, spawn: () => ResultPromise, settings: { kvm: boolean; retry: boolean }, lab: VultrLab): Promise<LabVm> {
    const vm = new LabVm(lab, name, serialPath, spawn, settings);
    await vm.launch();
    return vm;
  }

  private async launch(): Promise<void> {
    this.watch = await ConsoleWatch.from(this.serialPath);
    if (this.stopped) return;
    const qemu = this.spawn();
    this.qemu = qemu;
    this.exitedPromise = qemu.then(async () => {
      if (this.qemu !== qemu) return; // a retry replaced it
      await this.check();
      if (this.qemu === qemu) {
        this.running = false;
        clearInterval(this.poller);
      }
    });
  }

  /** Resolves when QEMU has exited for good (not when the harness replaced it). */
  get exited(): Promise<unknown> {
    return this.exitedPromise.then(() => (this.running ? this.exited : undefined));
  }

  /** Reads the console for a death; kills QEMU on one, and boots once more where the harness may. */
  private check(): Promise<void> {
    this.checks = this.checks
      .then(async () => {
        if (this.died || !this.running) return;
        const death = await this.watch.check();
        if (death) await this.onDeath(death);
      })
      .catch((error: unknown) => console.error(`lab VM ${this.name}: reading its console failed: ${String(error)}`));
    return this.checks;
  }

  private async onDeath(death: Death): Promise<void> {
    const line = describeDeath(`lab VM ${this.name}`, death, this.watch.msSinceStart);
    const old = this.qemu;
    old.kill('SIGKILL');
    await old.catch(() => undefined);
    if (this.stopped) return;
    if (this.settings.retry && !this.retried && harnessMayRetry(death, this.settings.kvm)) {
      this.retried = line;
      console.error(`${line}; booting it once more (the harness's one retry under TCG)`);
      this.kept += (await this.watch.text()).slice(0, death.bootAt);
      await this.launch();
      return;
    }
    const before = this.retried ? ` (its first boot had died too: ${this.retried})` : '';
    this.died = `${line}${before}; serial log ${this.serialPath}, last lines:\n${consoleTail(await this.watch.text())}`;
    this.running = false;
    clearInterval(this.poller);
    this.dead.abort();
  }

  /** Throws the death's one line (and the console's tail) once the guest has died. */
  private throwIfDied(): void {
    if (this.died) throw new GuestDied(this.died, this.serialPath);
  }

  /** The console as the tests count it: a boot the harness retried is left out. */
  async serial(): Promise<string> {
    return this.kept + (await this.watch.text());
  }

  /**
   * Waits until the serial log matches `pattern` `count` times (e.g. the second "Linux version"
   * after a reboot); throws with the log's tail when the VM stops or the time is up. Returns the
   * host time it was first seen.
   */
  async waitForSerial(pattern: RegExp, timeoutMs: number, count = 1): Promise<number> {
    const key = `${pattern.source}#${count}`;
    const deadline = Date.now() + timeoutMs;
    const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
    for (;;) {
      const seen = this.seen.get(key);
      if (seen) return seen;
      const text = await this.serial();
      if ((text.match(global)?.length ?? 0) >= count) {
        this.seen.set(key, Date.now());
        continue;
      }
      this.throwIfDied();
      if (!this.running) throw new Error(`${this.name} stopped before its console showed ${pattern}:\n${text.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${pattern} on the console within ${timeoutMs / 1000} s:\n${text.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /**
   * ssh USER@VM COMMAND from the router, with KEY; never throws (tests assert on the result).
   * OpenSSH 10's post-quantum key exchange is slow under TCG, hence the long connect timeout.
   */
  ssh(key: string, user: string, command: string, options: { input?: string | Buffer; timeoutMs?: number; extra?: string[] } = {}) {
    return execa('ip', ['netns', 'exec', this.lab.ns, 'ssh', '-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=90', ...(options.extra ?? []), `${user}@${this.lab.vmAddress}`, command], {
      reject: false, timeout: options.timeoutMs ?? 600_000, input: options.input, cancelSignal: this.dead.signal,
    });
  }

  /**
   * ssh(), over one connection per user and key that stays open for a minute after its last
   * use (OpenSSH's ControlMaster): for the many commands the checks run, each of which would
   * otherwise cost the VM a key exchange, a login and a session under TCG. Never for what
   * tests a login itself.
   */
  async sshShared(key: string, user: string, command: string, options: { input?: string | Buffer; timeoutMs?: number } = {}) {
    const socket = this.controlPath(key, user);
    const shared = await this.ssh(key, user, command, { ...options, extra: ['-o', 'ControlMaster=auto', '-o', `ControlPath=${socket}`, '-o', 'ControlPersist=60', '-o', 'ServerAliveInterval=10'] });
    // A connection the VM no longer has (it rebooted behind the test's back): a fresh one.
    if (shared.exitCode !== 255 || !/mux_client|master|control ?socket/i.test(shared.stderr)) return shared;
    await this.closeConnections();
    return this.ssh(key, user, command, options);
  }

  /** The shared connections' sockets, by user and key, until closeConnections; each socket path is used once. */
  private readonly sockets = new Map<string, string>();
  private socketsMade = 0;

  private controlPath(key: string, user: string): string {
    const id = `${user} ${key}`;
    if (!this.sockets.has(id)) this.sockets.set(id, join(this.lab.dir, `ssh-${this.name}-${++this.socketsMade}`));
    return this.sockets.get(id)!;
  }

  /** Ends the shared connections (before the guest reboots or powers off; when it is killed). */
  async closeConnections(): Promise<void> {
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    await Promise.all(sockets.map((s) => execa('ssh', ['-o', `ControlPath=${s}`, '-O', 'exit', 'vm'], { reject: false, timeout: 10_000 })));
  }

  /** Waits until `user` logs in with `key`. */
  async waitForSsh(key: string, user: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.ssh(key, user, 'true', { timeoutMs: 120_000 });
      if (r.exitCode === 0) return;
      this.throwIfDied();
      if (!this.running) throw new Error(`${this.name} stopped before SSH answered:\n${(await this.serial()).slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: ${user} could not log in within ${timeoutMs / 1000} s (last: ${r.stderr.trim() || r.exitCode})`);
      await new Promise((r2) => setTimeout(r2, 5000));
    }
  }

  /** The VM's SSH host keys as the router sees them ("type base64" lines, sorted). */
  async hostKeys(): Promise<string[]> {
    const r = await this.lab.router(['ssh-keyscan', '-T', '90', this.lab.vmAddress], { reject: false, timeout: 300_000 });
    return r.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ').slice(1).join(' ')).sort();
  }

  async kill(): Promise<void> {
    await this.closeConnections();
    this.stopped = true;
    clearInterval(this.poller);
    this.running = false;
    this.qemu.kill('SIGKILL');
    // A death being handled right now must not start another QEMU behind our back.
    await this.checks;
    this.qemu.kill('SIGKILL');
    await this.qemu.catch(() => undefined);
  }
}
