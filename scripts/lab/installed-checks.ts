// What must hold on an installed system, checked from outside through the lab: SSH from the
// router namespace and traffic from the router. Shared by the lab test
// (test/system/installed-system.slow.test.ts) and the nightly's full-install gate
// (scripts/install-check.ts), so both prove the same things. Each check throws CheckFailed
// with what it saw, or returns a one-line summary of it.
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contains, parseIPv6, parsePrefix, type SubnetChoice } from '../../src/net/ipv6.js';
import { shellWord } from '../../src/render/handlebars-env.js';
import { ROUTER_IPV6, type LabVm, type VultrLab } from './vultr-lab.js';

export class CheckFailed extends Error {
  override name = 'CheckFailed';
}

export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new CheckFailed(message);
}

export interface Target {
  lab: VultrLab;
  vm: LabVm;
  /** The admin user and a private key whose public half Vultr's metadata served. */
  admin: string;
  key: string;
  /** The /80 the CLI computes for the lab's /64 (src/net/ipv6.ts containerPrefix). */
  expectedPrefix: string;
}

/** Runs a shell command as the admin (sudo where needed); throws when SSH itself fails. */
export async function onVm(t: Target, command: string, input?: string | Buffer): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await t.vm.sshShared(t.key, t.admin, command, { input });
  check(r.exitCode !== 255, `ssh ${t.admin}@vm "${command}" failed: ${r.stderr.trim()}`);
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** cloud-init finished without errors (not even recoverable ones) and used Vultr's datasource; vendor-data stayed off. */
export async function cloudInitClean(t: Target, expectedInstanceId: string): Promise<string> {
  const r = await onVm(t, 'sudo cloud-init status --wait --long --format json; echo "exit=$?"; cloud-id; sudo cat /var/lib/cloud/data/instance-id');
  const exit = /^exit=(\d+)$/m.exec(r.stdout)?.[1];
  const json = r.stdout.slice(0, r.stdout.indexOf('\nexit='));
  const status = JSON.parse(json) as { status: string; extended_status: string; datasource: string; errors: unknown[]; recoverable_errors: Record<string, unknown> };
  const [cloudId, instanceId] = r.stdout.slice(r.stdout.indexOf('\nexit=') + 1).split('\n').slice(1);
  check(status.status === 'done' && status.errors.length === 0, `cloud-init status ${status.status}, errors ${JSON.stringify(status.errors)}`);
  check(Object.keys(status.recoverable_errors ?? {}).length === 0, `cloud-init is ${status.extended_status}: ${JSON.stringify(status.recoverable_errors)}`);
  check(exit === '0', `cloud-init status exited ${exit} (${status.extended_status})`);
  check(status.datasource === 'vultr' && cloudId === 'vultr', `cloud-init used datasource ${status.datasource} (cloud-id ${cloudId}), not Vultr's`);
  check(instanceId === expectedInstanceId, `cloud-init's instance id is ${instanceId}, not the metadata's ${expectedInstanceId}`);
  // Vultr's vendor-data (VULTR_VENDOR_DATA) would have run this and turned root/password logins on.
  const vendor = await onVm(t, 'sudo test -e /root/LAB-VENDOR-DATA-RAN && echo ran; sudo /usr/sbin/sshd -T | grep -Ei "^(permitrootlogin|passwordauthentication) "');
  check(!/^ran$/m.test(vendor.stdout), "Vultr's vendor-data ran (its runcmd left /root/LAB-VENDOR-DATA-RAN)");
  // (sshd -T prints the keywords in lower case up to OpenSSH 9 and capitalised in OpenSSH 10.)
  check(/^permitrootlogin no$/im.test(vendor.stdout) && /^passwordauthentication no$/im.test(vendor.stdout), `sshd allows more than keys: ${vendor.stdout.trim()}`);
  return `cloud-init ${status.extended_status}, datasource ${status.datasource}, instance ${instanceId}`;
}

/** The metadata's key logs in as the admin; no password method is offered, and root is refused. */
export async function loginsAsExpected(t: Target): Promise<string> {
  const admin = await t.vm.ssh(t.key, t.admin, 'id -un');
  check(admin.exitCode === 0 && admin.stdout.trim() === t.admin, `the metadata key did not log in as ${t.admin}: ${admin.stderr.trim()}`);
  const password = await t.vm.ssh(t.key, t.admin, 'true', { extra: ['-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive'] });
  check(password.exitCode === 255 && /Permission denied \(publickey\)/.test(password.stderr), `sshd offers more than public keys: ${password.stderr.trim()}`);
  const root = await t.vm.ssh(t.key, 'root', 'id -un');
  check(root.exitCode === 255 && /Permission denied/.test(root.stderr), `root logged in or was not refused: exit ${root.exitCode} ${root.stdout.trim()} ${root.stderr.trim()}`);
  return `${t.admin} logs in with the metadata key; password: "${/Permission denied \([^)]*\)/.exec(password.stderr)?.[0]}"; root refused`;
}

export interface Ipv6State {
  uplink: string;
  containerPrefix: string;
  exposure: string;
  network: string;
}

/** vultr-sid-ipv6 chose the expected /80 from `source`; ndppd runs; accept_ra=2 and an RA default route with forwarding on. */
export async function ipv6Ready(t: Target, source: 'metadata' | 'slaac'): Promise<string> {
  const r = await onVm(t, [
    // After the boot has finished (running, or degraded by some other unit).
    'systemctl is-system-running --wait >/dev/null',
    'cat /run/vultr-sid-ipv6/state.json; echo',
    'echo "--- journal"; sudo journalctl -b -u vultr-sid-ipv6 -o cat --no-pager',
    'echo "--- active"; systemctl is-active vultr-sid-ipv6 ndppd docker vultr-sid-docker-network',
    'echo "--- sysctl"; cat /proc/sys/net/ipv6/conf/enp1s0/accept_ra /proc/sys/net/ipv6/conf/all/forwarding',
    'echo "--- route"; ip -6 route show default',
  ].join('; '));
  const [stateText, journal = '', active = '', sysctl = '', route = ''] = r.stdout.split(/^--- \w+$/m);
  const state = JSON.parse(stateText!) as Ipv6State;
  check(state.containerPrefix === t.expectedPrefix, `Docker's /80 is ${state.containerPrefix}, the CLI computes ${t.expectedPrefix}`);
  // The last run's report: the boot's, or the recheck's when IPv6 came later.
  const report = journal.split('\n').filter((l) => l.startsWith('{')).at(-1) ?? '';
  check(report.includes(`"source": "${source}"`), `vultr-sid-ipv6 did not take the /64 from ${source}: ${journal.trim()}`);
  check(active.trim().split('\n').every((s) => s === 'active'), `not all of vultr-sid-ipv6 ndppd docker vultr-sid-docker-network are active: ${active.trim().replace(/\n/g, ' ')}`);
  check(sysctl.trim().split('\n').join(' ') === '2 1', `accept_ra/forwarding are ${sysctl.trim().replace(/\n/g, '/')}, not 2/1`);
  // The kernel's own RA route (metric 1024) is the one accept_ra=2 keeps; dhcpcd, which
  // ifupdown runs for "inet6 auto", adds another from its own RA handling (metric 1000 + index).
  const kernelRoute = route.split('\n').find((l) => /^default via fe80::\S+ dev enp1s0 proto ra metric 1024\b/.test(l));
  check(kernelRoute !== undefined, `no RA-learned kernel default route with forwarding on: ${route.trim() || '(none)'}`);
  return `${state.containerPrefix} from ${source}; ndppd active; accept_ra 2, forwarding 1, ${kernelRoute}`;
}

/**
 * A VM without IPv6: SSH answers (this runs over it), Docker and the metadata guard run, ndppd
 * does not (no ndppd.conf), the recheck timer waits, and the boot program said why in exactly
 * one line.
 */
export async function ipv4Only(t: Target): Promise<string> {
  const r = await onVm(t, [
    'systemctl is-system-running --wait >/dev/null',
    'cat /run/vultr-sid-ipv6/state.json; echo',
    'echo "--- active"; systemctl is-active docker vultr-sid-metadata-guard vultr-sid-ipv6 vultr-sid-ipv6-recheck.timer ndppd',
    'echo "--- flag"; test -e /run/vultr-sid-ipv6/no-ipv6 && echo set || echo unset',
    'echo "--- v6"; ip -6 -o addr show dev enp1s0 scope global',
  ].join('; '));
  const [stateText, active = '', flag = '', v6 = ''] = r.stdout.split(/^--- \w+$/m);
  const state = JSON.parse(stateText!) as { ipv6: boolean; containerPrefix: string | null };
  check(!state.ipv6 && state.containerPrefix === null, `vultr-sid-ipv6 found IPv6 on an IPv4-only VM: ${stateText!.trim()}`);
  check(active.trim().split('\n').join(' ') === 'active active active active inactive', `docker, the guard, vultr-sid-ipv6, the recheck timer, ndppd are ${active.trim().replace(/\n/g, ' ')}; expected active ×4 and ndppd inactive`);
  check(flag.trim() === 'set', 'the recheck flag /run/vultr-sid-ipv6/no-ipv6 is not set');
  check(v6.trim() === '', `enp1s0 has a global IPv6 address: ${v6.trim()}`);
  const warnings = await ipv6Warnings(t);
  check(warnings.length === 1 && /^vultr-sid-ipv6: no public IPv6 for containers: .+; Docker runs with IPv4 only/.test(warnings[0]!), `expected one warning line about no public IPv6, got: ${warnings.join(' | ') || '(none)'}`);
  return warnings[0]!;
}

/** Waits until the recheck timer has put the VM's `public` network on the expected /80 (IPv6 came later). */
export async function waitForLateIpv6(t: Target, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const r = await onVm(t, "systemctl is-active vultr-sid-docker-network; sudo docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' public");
    const [active = '', subnets = ''] = r.stdout.split('\n');
    if (active === 'active' && subnets.split(' ').includes(t.expectedPrefix)) return Date.now() - started;
    check(Date.now() - started < timeoutMs, `public is not on ${t.expectedPrefix} within ${timeoutMs / 1000} s of the router advertising it: ${r.stdout.trim()}`);
    await new Promise((res) => setTimeout(res, 5000));
  }
}

/** `docker run` NAME on the default bridge (IPv4 only); it reaches the router through Docker's NAT. */
export async function runIpv4Container(t: Target, name: string): Promise<string> {
  const run = await onVm(t, `sudo docker run -d --restart=always --name ${name} lab/busybox sh -c 'exec sleep 1000000'`);
  check(run.exitCode === 0, `docker run failed: ${run.stderr.trim()}`);
  const ping = await onVm(t, `sudo docker exec ${name} ping -c 1 -W 5 198.51.100.1`);
  check(ping.exitCode === 0, `container ${name} cannot reach the router over IPv4: ${ping.stdout.trim()} ${ping.stderr.trim()}`);
  return `container ${name} on the default bridge reaches the router over IPv4`;
}

/**
 * Today's sid, booted: cloud-init's first stage waited for the NIC by its own script, nothing
 * pulled in systemd-udev-settle.service, and neither systemd nor udevadm (which warns when that
 * unit runs) logged a deprecation; apt uses our deb822 sources for unstable with the archive's
 * keyring.
 */
export async function bootHygiene(t: Target): Promise<string> {
  const r = await onVm(t, [
    'sudo journalctl -b -o cat --no-pager | grep -E "^vultr-sid-wait-nic:" ; echo "--- settle"',
    'systemctl show -p ActiveState -p ActiveEnterTimestampMonotonic systemd-udev-settle.service; echo "--- deprecated"',
    'sudo journalctl -b _PID=1 + _COMM=udevadm -o cat --no-pager | grep -i deprecat; echo "--- sources"',
    'ls /etc/apt/sources.list /etc/apt/sources.list.d/ 2>&1; cat /etc/apt/sources.list.d/debian.sources',
  ].join('; '));
  const [nic = '', settle = '', deprecated = '', sources = ''] = r.stdout.split(/^--- \w+$/m);
  check(/^vultr-sid-wait-nic: enp1s0 is ready \(after \d+ s\)$/m.test(nic), `cloud-init's first stage did not wait for enp1s0: ${nic.trim() || '(no line from vultr-sid-wait-nic)'}`);
  check(/ActiveState=inactive/.test(settle) && /ActiveEnterTimestampMonotonic=0/.test(settle), `systemd-udev-settle.service ran: ${settle.trim()}`);
  check(deprecated.trim() === '', `systemd logged deprecations: ${deprecated.trim()}`);
  check(/No such file or directory/.test(sources) && /^Suites: unstable$/m.test(sources) && /^Signed-By: \/usr\/share\/keyrings\/debian-archive-keyring\.pgp$/m.test(sources), `apt's sources are not our deb822 file alone: ${sources.trim()}`);
  return `${nic.trim()}; systemd-udev-settle never started; systemd logged no deprecation; apt: deb822 unstable, Signed-By`;
}

/**
 * User-data with `ssh_pwauth: true` made cloud-init write sshd_config.d/50-cloud-init.conf
 * with password login on (the condition, else this proves nothing), and sid's sshd still
 * takes keys only: our 10- drop-in is read first.
 */
export async function sshDecisionHolds(t: Target): Promise<string> {
  const r = await onVm(t, 'sudo grep -h PasswordAuthentication /etc/ssh/sshd_config.d/50-cloud-init.conf; echo "---"; sudo /usr/sbin/sshd -T | grep -i "^passwordauthentication "');
  const [cloudInit = '', effective = ''] = r.stdout.split(/^---$/m);
  check(/^PasswordAuthentication yes$/m.test(cloudInit), `cloud-init did not turn password login on in 50-cloud-init.conf (the user-data's ssh_pwauth): ${cloudInit.trim() || '(no such file)'}`);
  check(/^passwordauthentication no$/im.test(effective), `sshd takes passwords after all: ${effective.trim()}`);
  return `50-cloud-init.conf says "${cloudInit.trim()}"; sshd -T: ${effective.trim()}`;
}

/** The container's state and its aliases on `network` (null: not on it). */
async function onNetwork(t: Target, name: string, network: string): Promise<{ status: string; aliases: string[] | null }> {
  const r = await onVm(t, `sudo docker inspect -f '{{.State.Status}} {{json .NetworkSettings.Networks}}' ${name}`);
  const [status = '', ...json] = r.stdout.trim().split(' ');
  const networks = JSON.parse(json.join(' ') || '{}') as Record<string, { Aliases: string[] | null }>;
  return { status, aliases: network in networks ? (networks[network]!.Aliases ?? []) : null };
}

/** A container that is stopped but on the network, with an alias there (what Compose names a service by). */
export async function stoppedContainer(t: Target, name: string, network: string): Promise<void> {
  const r = await onVm(t, `sudo docker run -d --name ${name} --network ${network} --network-alias ${name}-svc lab/busybox sh -c 'exec sleep 1000000' && sudo docker stop -t 1 ${name}`);
  check(r.exitCode === 0, `could not make the stopped container ${name}: ${r.stderr.trim()}`);
}

/** After a /80 move the stopped container is still on the network, with its alias, and started it gets an address in the /80. */
export async function stoppedContainerKept(t: Target, name: string, network: string): Promise<string> {
  const { status, aliases } = await onNetwork(t, name, network);
  check(status === 'exited' && aliases !== null, `container ${name} is ${status}${aliases === null ? `, not on ${network}` : ''}; expected exited and on ${network}`);
  check(aliases.includes(`${name}-svc`), `container ${name} lost its alias ${name}-svc on ${network}: ${JSON.stringify(aliases)}`);
  const start = await onVm(t, `sudo docker start ${name}`);
  check(start.exitCode === 0, `the stopped container ${name} does not start after the move: ${start.stderr.trim()}`);
  const address = await containerAddress(t, name);
  await onVm(t, `sudo docker stop -t 1 ${name}`);
  return `${name}: stopped, still on ${network} as ${name}-svc; started, it gets ${address}`;
}

/**
 * The state a /80 move leaves when it is cut short after disconnecting a container: the
 * container off the network, and the boot program's record of it
 * (/var/lib/vultr-sid-iso/docker-network-move.json).
 */
export async function interruptedMove(t: Target, name: string): Promise<void> {
  const record = JSON.stringify([{ container: name, aliases: [`${name}-svc`] }]);
  await sudo(t, `docker create --name ${name} lab/busybox sh -c 'exec sleep 1000000' >/dev/null && mkdir -p /var/lib/vultr-sid-iso && printf '%s\n' ${shellWord(record)} > /var/lib/vultr-sid-iso/docker-network-move.json`);
}

/** The next run that had the /80 finished the move: the container is on the network with its alias, the record gone. */
export async function interruptedMoveFinished(t: Target, name: string, network: string): Promise<string> {
  const { aliases } = await onNetwork(t, name, network);
  check(aliases?.includes(`${name}-svc`) === true, `container ${name} was not reconnected to ${network} with its alias: ${JSON.stringify(aliases)}`);
  const left = await onVm(t, 'test -e /var/lib/vultr-sid-iso/docker-network-move.json');
  check(left.exitCode !== 0, 'the record of the move is still there');
  return `${name} back on ${network} as ${name}-svc; the move's record is gone`;
}

/**
 * Puts this VM on `docker.exposure: all-ports` as a disk built with it has it: the setting is
 * one field of /etc/vultr-sid-iso/ipv6.json, and the boot program's next run rewrites
 * daemon.json (the default bridge on the /80, no IPv6 filtering) and restarts Docker. The
 * `public` network and its containers go first: such a disk never has them, and the default
 * bridge cannot take a /80 that another network holds. Waits until Docker runs that way.
 */
export async function switchToAllPorts(t: Target, timeoutMs: number): Promise<string> {
  await sudo(t, [
    String.raw`python3 -c 'import json; p = "/etc/vultr-sid-iso/ipv6.json"; c = json.load(open(p)); c["docker"]["exposure"] = "all-ports"; open(p, "w").write(json.dumps(c))'`,
    'docker ps -aq --filter network=public | xargs -r docker rm -f >/dev/null',
    'docker network rm public >/dev/null',
    'systemctl restart vultr-sid-ipv6.service',
  ].join(' && '));
  const started = Date.now();
  for (;;) {
    const r = await onVm(t, "systemctl is-active docker; sudo docker network inspect -f '{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}} {{end}}' bridge");
    const [active = '', bridge = ''] = r.stdout.split('\n');
    if (active === 'active' && bridge.split(' ')[0] === 'true' && bridge.split(' ').includes(t.expectedPrefix)) break;
    check(Date.now() - started < timeoutMs, `after the switch to all-ports the default bridge is not on ${t.expectedPrefix} within ${timeoutMs / 1000} s: ${r.stdout.trim()}`);
    await new Promise((res) => setTimeout(res, 5000));
  }
  const daemon = JSON.parse(await sudo(t, 'cat /etc/docker/daemon.json')) as Record<string, unknown>;
  check(daemon.ipv6 === true && daemon['fixed-cidr-v6'] === t.expectedPrefix && daemon.ip6tables === false, `daemon.json after the switch: ${JSON.stringify(daemon)}`);
  return `all-ports: the default bridge on ${t.expectedPrefix}, ip6tables off, ${Math.round((Date.now() - started) / 1000)} s after the boot program ran`;
}

/** The guard's rules broken: the guard fails, Docker stops and does not start, and the console says why. */
export async function guardFailsClosed(t: Target): Promise<string> {
  await sudo(t, 'echo "this is not nft" >> /etc/vultr-sid-iso/metadata-guard.nft');
  await onVm(t, 'sudo systemctl restart vultr-sid-metadata-guard.service; sudo systemctl start docker.service');
  const r = await onVm(t, 'systemctl is-active vultr-sid-metadata-guard docker; echo ---; sudo journalctl -b -u vultr-sid-metadata-guard -o cat --no-pager | grep "^vultr-sid-iso:"');
  const [active = '', line = ''] = r.stdout.split(/^---$/m);
  check(active.trim().split('\n').join(' ') === 'failed inactive' || active.trim().split('\n').join(' ') === 'failed failed', `with the guard failing, guard and docker are ${active.trim().replace(/\n/g, ' ')}`);
  check(/^vultr-sid-iso: Docker will not start: containers could not be kept away from the metadata service \(nft -f \/etc\/vultr-sid-iso\/metadata-guard\.nft: .+\)$/m.test(line), `no one-line reason from the guard: ${line.trim()}`);
  const serial = await t.vm.serial();
  check(serial.includes('vultr-sid-iso: Docker will not start'), 'the reason is not on the console');
  return `guard failed, docker ${active.trim().split('\n')[1]}; "${line.trim().slice(0, 100)}…" on the console`;
}

/** The recheck timer has fired this boot, and its service, which runs every minute, left nothing in the journal. */
export async function recheckQuiet(t: Target): Promise<string> {
  const r = await onVm(t, 'systemctl show -p LastTriggerUSecMonotonic vultr-sid-ipv6-recheck.timer; echo ---; sudo journalctl -b -u vultr-sid-ipv6-recheck.service -o cat --no-pager');
  const [trigger = '', journal = ''] = r.stdout.split(/^---$/m);
  check(/LastTriggerUSecMonotonic=[1-9]/.test(trigger), `the recheck timer has not fired yet (${trigger.trim()}), so its silence proves nothing`);
  check(journal.trim() === '' || journal.trim() === '-- No entries --', `the recheck service logged: ${journal.trim()}`);
  return 'the recheck timer fired; its service logged nothing';
}

/** The lines vultr-sid-ipv6 logged this boot besides its JSON report. */
export async function ipv6Warnings(t: Target): Promise<string[]> {
  const r = await onVm(t, 'sudo journalctl -b -u vultr-sid-ipv6 -o cat --no-pager');
  return r.stdout.split('\n').filter((l) => l.startsWith('vultr-sid-ipv6:'));
}

/**
 * The lab's container image: a tarball for `docker import` of this host's busybox-static,
 * with httpd serving /www (there is no registry in the lab). Written to DIR/busybox.tar.
 */
export async function busyboxTarball(dir: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'vsi-busybox-'));
  try {
    const { stdout: busybox } = await execa('sh', ['-c', 'command -v busybox']);
    const { stdout: kind } = await execa('file', ['-L', busybox]);
    check(kind.includes('statically linked'), `${busybox} is not static: install busybox-static`);
    await mkdir(join(root, 'bin'));
    await mkdir(join(root, 'www'));
    await copyFile(busybox, join(root, 'bin/busybox'));
    for (const applet of ['sh', 'httpd', 'nc', 'ping', 'ip', 'cat', 'sleep']) await symlink('busybox', join(root, 'bin', applet));
    await writeFile(join(root, 'www/index.html'), 'lab-container\n');
    const tarball = join(dir, 'busybox.tar');
    await execa('tar', ['-C', root, '--owner=0', '--group=0', '-cf', tarball, '.']);
    return tarball;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The config the VM was installed with (the boot program's /etc/vultr-sid-iso/ipv6.json): its docker section. */
export async function installedConfig(t: Target): Promise<{ docker: { subnet: SubnetChoice; exposure: string; network: string } }> {
  return JSON.parse(await sudo(t, 'cat /etc/vultr-sid-iso/ipv6.json')) as { docker: { subnet: SubnetChoice; exposure: string; network: string } };
}

/** The lab's image on the VM as lab/busybox, through SSH (see busyboxTarball), unless it is there already. */
export async function importBusybox(t: Target): Promise<void> {
  if ((await onVm(t, 'sudo docker image inspect lab/busybox >/dev/null 2>&1')).exitCode === 0) return;
  const dir = await mkdtemp(join(tmpdir(), 'vsi-busybox-'));
  try {
    const r = await onVm(t, "sudo docker import -c 'CMD [\"/bin/sh\"]' - lab/busybox", await readFile(await busyboxTarball(dir)));
    check(r.exitCode === 0, `docker import failed: ${r.stderr.trim()}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * First-boot user-data that runs a container on `network` (cloud-final's runcmd) worked: the
 * container runs there with an address in the /80, cloud-init reported no error, and the
 * network's unit is ordered before cloud-final by the unit files themselves (so it is no race
 * that this boot happened to win).
 */
export async function firstBootUserData(t: Target, name: string, network: string): Promise<string> {
  const r = await onVm(t, [
    `sudo docker inspect -f '{{.State.Status}} {{.HostConfig.NetworkMode}}' ${name}`,
    'echo ---; systemctl list-dependencies --after --plain --no-pager cloud-final.service | sed -n "s/^ *//p"',
    'echo ---; systemctl show -p ActiveEnterTimestampMonotonic --value vultr-sid-docker-network.service; systemctl show -p ExecMainStartTimestampMonotonic --value cloud-final.service',
  ].join('; '));
  const [state = '', after = '', times = ''] = r.stdout.split(/^---$/m);
  check(state.trim() === `running ${network}`, `the first boot's user-data container ${name} is "${state.trim() || 'missing'}", not running on ${network}: ${r.stderr.trim()}`);
  check(after.split('\n').map((l) => l.trim()).includes('vultr-sid-docker-network.service'), 'cloud-final.service is not ordered after vultr-sid-docker-network.service');
  const [networkUp = 0, finalStart = 0] = times.trim().split('\n').map(Number);
  check(networkUp > 0 && finalStart > networkUp, `the network's unit was up at ${networkUp} µs, cloud-final started at ${finalStart} µs`);
  const address = await containerAddress(t, name);
  return `user-data's container ${name} runs on ${network} at ${address}; ${network} was up ${((finalStart - networkUp) / 1e6).toFixed(1)} s before cloud-final started`;
}

/**
 * ndppd runs sandboxed: not as root, with only CAP_NET_RAW and CAP_NET_ADMIN, no new
 * privileges, and said nothing but its start-up lines (a sandbox that broke it would show here);
 * systemd's own rating of the unit is in the summary.
 */
export async function ndppdSandboxed(t: Target): Promise<string> {
  const r = await onVm(t, [
    'pid=$(systemctl show -p MainPID --value ndppd.service)',
    'ps -o user= -p "$pid"; grep -E "^(CapEff|CapBnd|NoNewPrivs):" /proc/$pid/status',
    // What the running ndppd said (earlier ones were stopped and say "(error) Shutting down...").
    'echo ---; sudo journalctl -b _PID="$pid" -o cat --no-pager',
    'echo ---; systemd-analyze security --no-pager ndppd.service | tail -n1',
  ].join('; '));
  const [proc = '', journal = '', rating = ''] = r.stdout.split(/^---$/m);
  const [user = ''] = proc.trim().split('\n');
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(proc)?.[1];
  // CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13.
  const expected = (1n << 12n) | (1n << 13n);
  check(user.trim() !== '' && user.trim() !== 'root', `ndppd runs as ${user.trim() || '(not running)'}`);
  check(BigInt(`0x${field('CapEff') ?? '0'}`) === expected && BigInt(`0x${field('CapBnd') ?? '0'}`) === expected, `ndppd's capabilities: ${proc.trim()}`);
  check(field('NoNewPrivs') === '1', 'ndppd may gain privileges (NoNewPrivs is not 1)');
  check(/\(notice\) ndppd \(NDP Proxy Daemon\)/.test(journal), `no start-up line from the running ndppd (pid read: ${proc.trim().split('\n')[0]}): ${journal.trim()}`);
  const complaints = journal.split('\n').filter((l) => /\((error|critical|alert)\)|Failed|denied/i.test(l));
  check(complaints.length === 0, `ndppd complained in its sandbox: ${complaints.join(' | ')}`);
  return `ndppd runs as ${user.trim()} with CAP_NET_RAW and CAP_NET_ADMIN only, no new privileges, no errors; ${rating.trim()}`;
}

/**
 * The VM forwards IPv6 only to and from Docker's bridges. A namespace on the VM behind an
 * interface of another name, in a prefix the router routes to the VM, is not reached from the
 * router (our nftables chain drops it and counts it); with that interface let through, it is
 * (the control: the drop is ours, not a missing route).
 */
export async function forwardingOnlyDocker(t: Target): Promise<string> {
  const other = '2001:db8:99::';
  const linkLocal = /inet6 (fe80::[0-9a-f:]+)\/64/.exec((await onVm(t, 'ip -6 -o addr show dev enp1s0 scope link')).stdout)?.[1];
  check(linkLocal !== undefined, "the VM's uplink has no link-local address");
  await sudo(t, [
    'ip netns add lab-other',
    'ip link add vsi-other type veth peer name eth0 netns lab-other',
    `ip -6 addr add ${other}1/64 dev vsi-other nodad`, 'ip link set vsi-other up',
    `ip -n lab-other -6 addr add ${other}2/64 dev eth0 nodad`, 'ip -n lab-other link set eth0 up', 'ip -n lab-other link set lo up',
    `ip -n lab-other -6 route add default via ${other}1`,
  ].join(' && '));
  await t.lab.router(['ip', '-6', 'route', 'replace', `${other}/64`, 'via', linkLocal, 'dev', 'br0']);
  const reached = async () => (await t.lab.router(['busybox', 'ping', '-6', '-c', '2', '-W', '2', `${other}2`], { reject: false })).exitCode === 0;
  const dropped = async () => Number(/counter packets (\d+) bytes \d+ comment "IPv6 forwarded through no Docker bridge/.exec(await sudo(t, 'nft list chain inet vultr_sid_iso forward'))?.[1] ?? -1);
  try {
    const before = await dropped();
    check(!(await reached()), `the router reached ${other}2 through the VM's vsi-other: IPv6 is forwarded beyond Docker's bridges`);
    const after = await dropped();
    check(after > before, `our chain did not count the dropped packets (${before} → ${after})`);
    await sudo(t, 'nft insert rule inet vultr_sid_iso forward oifname vsi-other accept && nft insert rule inet vultr_sid_iso forward iifname vsi-other accept');
    check(await reached(), `with vsi-other let through, the router still cannot reach ${other}2: the check above proved nothing`);
    return `IPv6 through another interface is dropped by our chain (${after - before} packets counted); let through, it passes (the control)`;
  } finally {
    await sudo(t, 'ip netns del lab-other; ip link del vsi-other 2>/dev/null; nft -f /etc/vultr-sid-iso/metadata-guard.nft');
    await t.lab.router(['ip', '-6', 'route', 'del', `${other}/64`], { reject: false });
  }
}

/**
 * `docker run` NAME (restarting with the VM) with httpd on 80, published, and on 81, not
 * published; returns its IPv6 address, checked to be in the /80.
 */
export async function runContainer(t: Target, name: string, network?: string, hostPort = 8080): Promise<string> {
  const net = network ? `--network ${network} ` : '';
  const run = await onVm(t, `sudo docker run -d --restart=always --name ${name} ${net}-p ${hostPort}:80 lab/busybox sh -c 'httpd -p 81 -h /www; exec httpd -f -p 80 -h /www'`);
  check(run.exitCode === 0, `docker run failed: ${run.stderr.trim()}`);
  return containerAddress(t, name);
}

export async function containerAddress(t: Target, name: string): Promise<string> {
  const r = await onVm(t, `sudo docker inspect -f '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}} {{end}}' ${name}`);
  const address = r.stdout.trim().split(' ').find(Boolean) ?? '';
  const prefix = parsePrefix(t.expectedPrefix)!;
  const parsed = parseIPv6(address);
  check(parsed !== undefined && contains(prefix, parsed), `container ${name} has IPv6 "${address}", not an address in ${t.expectedPrefix}`);
  return address;
}

/**
 * Pings the address (or any of the addresses) from the router until it answers; returns the
 * host time (ms) it first did.
 */
export async function waitUntilReachable(t: Target, address: string | string[], timeoutMs: number): Promise<number> {
  const addresses = typeof address === 'string' ? [address] : address;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const a of addresses) {
      const r = await t.lab.router(['ping', '-6', '-c', '1', '-W', '1', a], { reject: false });
      if (r.exitCode === 0) return Date.now();
    }
    check(Date.now() < deadline, `${addresses.join(' or ')} did not answer ping from the router within ${timeoutMs / 1000} s`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

async function httpFromRouter(t: Target, address: string, port: number): Promise<string | undefined> {
  const r = await t.lab.router(['curl', '-g', '-fsS', '--max-time', '8', `http://[${address}]:${port}/`], { reject: false });
  return r.exitCode === 0 ? r.stdout : undefined;
}

/**
 * From the router: the container answers ping and its published port; its unpublished port
 * answers only when `unpublished` is 'open'. The VM itself reaching port 81 shows the port is
 * served, so "closed" from outside is the firewall, not a missing listener.
 */
export async function exposure(t: Target, address: string, unpublished: 'open' | 'closed'): Promise<string> {
  await waitUntilReachable(t, address, 120_000);
  const neighbour = await t.lab.router(['ip', '-6', 'neigh', 'show', address]);
  check(neighbour.stdout.toLowerCase().includes('56:00:00:20:22:95'), `the router's neighbour entry for ${address} is not the VM's MAC (ndppd): ${neighbour.stdout.trim()}`);
  check((await httpFromRouter(t, address, 80))?.trim() === 'lab-container', `the published port [${address}]:80 does not answer from the router`);
  const local = await onVm(t, `python3 -c 'import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' 'http://[${address}]:81/'`);
  check(local.stdout.trim() === 'lab-container', `port 81 is not served in the container (from the VM: ${local.stderr.trim()})`);
  const outside = await httpFromRouter(t, address, 81);
  check((outside !== undefined) === (unpublished === 'open'), `the unpublished port [${address}]:81 is ${outside === undefined ? 'closed' : 'open'} from the router, expected ${unpublished}`);
  return `[${address}] ping ok, :80 (published) open, :81 (unpublished) ${unpublished}; router neighbour = VM MAC`;
}

/**
 * The container's connections leave from its own public address, not masqueraded behind the
 * VM's: the router accepts one TCP connection and reports the peer it saw.
 */
export async function outgoingFromOwnAddress(t: Target, container: string, address: string): Promise<string> {
  const port = 8099;
  const listener = t.lab.router([process.execPath, '-e', `const s = require('net').createServer((c) => { console.log(c.remoteAddress); c.end(); s.close(); })
    .listen(${port}, '::', () => console.log('listening')); setTimeout(() => process.exit(3), 60000);`], { reject: false, timeout: 70_000 });
  // Until it listens, or it has ended (then its result says why).
  await Promise.race([new Promise<void>((resolve) => listener.stdout?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve())), listener]);
  const r = await onVm(t, `sudo docker exec ${container} sh -c 'nc -w 5 ${ROUTER_IPV6} ${port} </dev/null'`);
  const seen = (await listener).stdout.split('\n').filter((l) => l && l !== 'listening')[0] ?? '';
  check(seen !== '', `the router saw no connection from container ${container} (${r.stderr.trim() || `nc exit ${r.exitCode}`})`);
  check(parseIPv6(seen) !== undefined && parseIPv6(seen) === parseIPv6(address), `container ${container}'s connection reached the router from ${seen}, not from its own address ${address}`);
  return `the router saw the container's connection from [${seen}], its own address`;
}

/**
 * An HTTP GET of the metadata from inside the container, with busybox nc (the static busybox's
 * wget crashes in a container). Returns what came back (empty when nothing did).
 */
async function metadataFromContainer(t: Target, container: string): Promise<{ body: string; error: string }> {
  const request = String.raw`printf 'GET /v1.json HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' | nc -w 5 169.254.169.254 80`;
  const r = await onVm(t, `sudo docker exec ${container} sh -c ${shellWord(request)}`);
  return { body: r.stdout, error: r.stderr.trim() };
}

/** The container cannot fetch the metadata; the VM can. */
export async function metadataGuarded(t: Target, container: string): Promise<string> {
  const fromContainer = await metadataFromContainer(t, container);
  check(!fromContainer.body.includes('instance-v2-id'), `container ${container} read the metadata service`);
  const fromVm = await onVm(t, "python3 -c 'import urllib.request; print(len(urllib.request.urlopen(\"http://169.254.169.254/v1.json\", timeout=10).read()))'");
  check(fromVm.exitCode === 0, `the VM itself cannot read the metadata service: ${fromVm.stderr.trim()}`);
  return `container: ${fromContainer.error || 'nothing came back'}; VM: ${fromVm.stdout.trim()} bytes`;
}

/**
 * The control for metadataGuarded: with our nftables table gone the container does read the
 * metadata, so the guard is what stops it. The table comes back as the guard's unit loads it
 * (restarting the unit would restart Docker too), whatever the control found, and the guard
 * holds again.
 */
export async function metadataGuardControl(t: Target, container: string): Promise<string> {
  await sudo(t, 'nft delete table inet vultr_sid_iso');
  let readsIt: boolean;
  try {
    readsIt = (await metadataFromContainer(t, container)).body.includes('instance-v2-id');
  } finally {
    await sudo(t, 'nft -f /etc/vultr-sid-iso/metadata-guard.nft');
  }
  check(readsIt, `the control: without our nftables table container ${container} still cannot read the metadata, so the guard check proves nothing`);
  return `without our table container ${container} reads the metadata (the control); with it again: ${await metadataGuarded(t, container)}`;
}

export async function sudo(t: Target, command: string): Promise<string> {
  const r = await onVm(t, `sudo sh -c ${shellWord(command)}`);
  check(r.exitCode === 0, `"${command}" failed on the VM: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Asks the VM to reboot or power off; the SSH session ends with the VM. */
export async function shutdown(t: Target, how: 'reboot' | 'poweroff'): Promise<void> {
  await t.vm.closeConnections();
  await t.vm.ssh(t.key, t.admin, `sudo systemctl ${how}`, { timeoutMs: 120_000 });
}

/**
 * Seconds from kernel start to "container reachable", and what our units took of it
 * (systemd-analyze blame of this boot), for the test log and the nightly's summary.
 */
export async function bootFigures(t: Target, kernelAt: number, reachableAt: number): Promise<string> {
  const r = await onVm(t, 'systemctl is-system-running --wait >/dev/null; systemd-analyze; systemd-analyze blame --no-pager');
  const blame = new Map(
    r.stdout.split('\n').map((l) => /^\s*(?:(\d+)min )?([\d.]+)(ms|s)\s+(\S+)$/.exec(l)).filter((m) => m !== null)
      .map((m) => [m[4]!, (Number(m[1] ?? 0) * 60 + Number(m[2])) / (m[3] === 'ms' ? 1000 : 1)]),
  );
  const total = (reachableAt - kernelAt) / 1000;
  const ours = ['vultr-sid-ipv6.service', 'vultr-sid-docker-network.service', 'ndppd.service'].map((u) => [u, blame.get(u) ?? 0] as const);
  const oursTotal = ours.reduce((s, [, v]) => s + v, 0);
  const startup = /^Startup finished in .*$/m.exec(r.stdout)?.[0] ?? '';
  return `kernel start → container reachable: ${total.toFixed(0)} s; our units ${oursTotal.toFixed(1)} s (${((oursTotal / total) * 100).toFixed(0)} %: ${ours.map(([u, v]) => `${u} ${v.toFixed(1)} s`).join(', ')}); docker.service ${(blame.get('docker.service') ?? 0).toFixed(1)} s; ${startup}`;
}

/**
 * An instance without public IPv4, on IPV6_ONLY's network: its lease is in 100.68.0.0/18 with
 * no IPv4 default route and the classless route to the metadata service; no unit failed, so
 * nothing waited for the default route that never comes (the boot program takes the first
 * default route of either family and fails after 20 s without one; that it does not wait
 * for an IPv4 one on this network is test/boot-program/netns's, timed). Not a limit on how long
 * the boot program took: on first boots beside another VM's, on 2 loaded cores, it took
 * 20.2 and 25.6 s and succeeded (9.7 s alone). The units' times are printed.
 */
export async function ipv6OnlyBoot(t: Target, lease: string): Promise<string> {
  const r = await onVm(t, [
    'systemctl is-system-running --wait; echo ---',
    'ip -4 route show; echo ---',
    'ip -4 -o addr show dev enp1s0 scope global; echo ---',
    'systemctl --failed --no-legend --plain; echo ---',
    'systemd-analyze blame --no-pager | grep -E " (vultr-sid-ipv6|networking|ifup@enp1s0|systemd-networkd-wait-online|cloud-init-local|cloud-init-network|cloud-init)\\.service$"',
  ].join('; '));
  const [state = '', routes = '', address = '', failed = '', blame = ''] = r.stdout.split(/^---$/m);
  check(state.trim() === 'running' && failed.trim() === '', `the IPv6-only boot is ${state.trim()}; failed units: ${failed.trim() || 'none'}`);
  check(!/^default /m.test(routes), `an IPv4 default route appeared: ${routes.trim()}`);
  check(/^169\.254\.169\.254 via 100\.68\.0\.1 dev enp1s0/m.test(routes), `no classless route to the metadata service: ${routes.trim() || '(no IPv4 routes)'}`);
  check(address.includes(`inet ${lease}/18`), `enp1s0 has no lease ${lease}/18: ${address.trim()}`);
  return `lease ${lease}/18, no IPv4 default route, metadata by the classless route; no unit failed; ${blame.trim().split('\n').map((l) => l.trim()).join(', ')}`;
}

/**
 * The screen is the main console, as Vultr's web console shows it: /proc/consoles marks the
 * screen's first virtual terminal (tty1, as our boot entries name it) `C`, which /dev/console,
 * and so systemd, cloud-init and an emergency shell, write to; the serial line (ttyS0) is a
 * console too (the kernel and our programs still write there).
 */
export async function consolesOnScreen(t: Target): Promise<string> {
  const r = await onVm(t, 'cat /proc/consoles');
  const flags = (name: string) => new RegExp(`^${name}\\s+\\S+\\s+\\(([^)]*)\\)`, 'm').exec(r.stdout)?.[1] ?? '';
  check(flags('tty1').includes('C'), `/proc/consoles does not mark tty1 (the screen) as the main console (C): ${r.stdout.trim().replace(/\n/g, ' | ')}`);
  check(flags('ttyS0').includes('E') && !flags('ttyS0').includes('C'), `/proc/consoles does not list ttyS0 as a further enabled console: ${r.stdout.trim().replace(/\n/g, ' | ')}`);
  return `consoles: ${r.stdout.trim().replace(/\s+/g, ' ').replace(/ (ttyS0)/, '; $1')}`;
}

/** What vultr-sid-status prints, and its exit code (0 complete, 1 incomplete, 2 no status). */
export async function installStatus(t: Target): Promise<{ exitCode: number; text: string }> {
  const r = await onVm(t, '/usr/local/bin/vultr-sid-status');
  return { exitCode: r.exitCode, text: r.stdout.trim() };
}

/**
 * The install recorded every part as done (vultr-sid-status exits 0) and says nothing is
 * missing; unless it was completed during this boot, the boot unit had nothing to do.
 */
export async function installComplete(t: Target, options: { completedThisBoot?: boolean } = {}): Promise<string> {
  const status = await installStatus(t);
  check(status.exitCode === 0 && /^vultr-sid-iso install: complete /.test(status.text), `the install is not complete: ${status.text.replace(/\n\s*/g, '; ')}`);
  const r = await onVm(t, 'test -e /var/lib/vultr-sid-iso/install-incomplete && echo flag; test -e /etc/issue.d/vultr-sid-iso.issue && echo issue; systemctl show -p ConditionResult vultr-sid-complete.service');
  check(!/^(flag|issue)$/m.test(r.stdout), `a complete install still says it is incomplete: ${r.stdout.trim()}`);
  if (!options.completedThisBoot) check(/ConditionResult=no/.test(r.stdout), `vultr-sid-complete.service ran on a complete install: ${r.stdout.trim()}`);
  return status.text.split('\n')[0]!;
}

/** What an interactive login shows before the prompt (ssh -tt with no command: the login message). */
export async function loginMessage(t: Target): Promise<string> {
  const r = await t.vm.ssh(t.key, t.admin, '', { extra: ['-tt'], input: 'exit\n' });
  check(r.exitCode !== 255, `an interactive login as ${t.admin} failed: ${r.stderr.trim()}`);
  // eslint-disable-next-line no-control-regex -- a terminal's escapes and carriage returns are what is removed
  return r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

/** The network configuration is one vultr-sid-ipv6 supports (vultr-sid-network-check, as the install checked it). */
export async function networkConfigSupported(t: Target): Promise<string> {
  const r = await onVm(t, '/usr/local/sbin/vultr-sid-network-check --uplink enp1s0');
  check(r.exitCode === 0 && /^ifupdown: enp1s0 \(inet dhcp/.test(r.stdout), `vultr-sid-network-check refuses the installed system's network configuration: ${(r.stdout + r.stderr).trim()}`);
  return r.stdout.trim();
}
