// The system the ISO installs, booted whole on today's sid in a Vultr-like lab: a disk made the
// way the installer makes it (mmdebstrap + the rendered late.sh, scripts/lab/sid-disk.ts),
// QEMU with Vultr's SMBIOS, DHCPv4, router advertisements and a metadata service in a router
// namespace (scripts/lab/vultr-lab.ts). Every check goes through the serial console, SSH from
// the router, or traffic from the router (scripts/lab/installed-checks.ts).
//
// One VM, stages that build on each other (they share its boots: each costs minutes under
// TCG): first boot, a reboot, then the same disk as a new instance (what a Vultr snapshot
// restored into a new VM is) on a network we did not plan for: no router advertisement and
// metadata that lists no IPv6 (an IPv4-only VM); then IPv6 comes later, in another /64, with
// malformed metadata. The instance without public IPv4, the all-ports control and the guard
// that cannot be applied boot a second lab VM beside this one: ipv6-only-instance.slow.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labAccess } from '../../scripts/acceptance/lab-access.js';
import { acceptanceNetwork, checkPublicContainer } from '../../scripts/acceptance/public-container.js';
import { gateContainers, gateSteps, runGate, type GateScale } from '../../scripts/lab/install-gate.js';
import * as checks from '../../scripts/lab/installed-checks.js';
import * as reach from '../../scripts/lab/reachability.js';
import { NETWORK_64, type LabVm, type VultrLab } from '../../scripts/lab/vultr-lab.js';
import { labContainerPrefix, vultrMetadata } from '../../scripts/lab/vultr-metadata.js';
import { BOOT_MS, bootInstance, closeLab, openLab, type Lab } from '../helpers/lab-vm.js';

const FIRST = '8c0a1f8e-5b6d-4a53-9d6c-3f2a1b4c5d6e';
const CLONE = '3f1d7c2a-9b8e-4d6f-a1c3-5e7b9d0f2a4c';
const EXPECTED_PREFIX = labContainerPrefix();
/** Where the clone's router puts it, once it advertises one: a snapshot restored into a new VM gets another /64. */
const CLONE_64 = '2001:db8:5:17::/64';
/** The recheck timer looks every minute; a loaded TCG guest may take several to act. */
const LATE_IPV6_MS = 10 * 60_000;
/** What Vultr's metadata says about the public interface of an instance without IPv6. */
const NO_IPV6 = { additional: [], address: '', network: '', prefix: '' };
/** Seconds from a container's start to answering the router (issue: every container, at once). */
const REACH_LIMIT = 5;
/** The install gate's every-container check, before this file's own (which starts 23 and pings for 60 s). */
const LAB_SCALE: GateScale = { containers: 3, nudSeconds: 10 };
/**
 * First-boot user-data: password login asked for (our sshd drop-in must still win), and a
 * container on the public network run by cloud-final, as users start theirs. The lab has no
 * registry: the image comes from a URL in the lab, as a real VM's would from the internet.
 */
const firstBootUserData = (image: string) => [
  '#cloud-config',
  'ssh_pwauth: true',
  'runcmd:',
  `  - [docker, import, --change, 'CMD ["/bin/sh"]', '${image}', lab/busybox]`,
  "  - [docker, run, -d, --restart=always, --name, firstboot, --network, public, -p, '80', lab/busybox, httpd, -f, -p, '80', -h, /www]",
  '',
].join('\n');
const names = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);

let l: Lab;
let dir: string;
let lab: VultrLab;
let vm: LabVm;
let target: checks.Target;
let metaKeyPub: string;
let container: string;
let firstKeys: string[];
/** The first-boot user-data's container's address. */
let firstbootAddress: string;
/** What the every-container stage leaves running in the background, awaited two stages later. */
let nudRun: Promise<Awaited<ReturnType<typeof reach.pingUnderNud>>> | undefined;
let churn: Promise<string> | undefined;
let watchedNames: string[] = [];

async function boot(instanceId: string): Promise<void> {
  // The first boot's VM is rebooted by a later stage.
  vm = await bootInstance(l, instanceId, target.admin);
  target = { ...target, vm };
}

describe.sequential('the installed system in a Vultr-like lab (sid packages, QEMU)', () => {
  beforeAll(async () => {
    l = await openLab();
    ({ dir, lab, metaKeyPub } = l);
    target = { lab, vm: undefined as unknown as LabVm, admin: 'debian', key: l.metaKey, expectedPrefix: EXPECTED_PREFIX };
  }, 30 * 60_000);

  afterAll(async () => {
    await closeLab(l);
  });

  it('first boot: cloud-init takes Vultr\'s metadata and finishes clean, Vultr\'s vendor-data is ignored; a clean boot of today\'s sid', { timeout: BOOT_MS + 10 * 60_000 }, async () => {
    const image = await lab.serveFile('busybox.tar', await checks.busyboxTarball(dir));
    await lab.setMetadata(vultrMetadata({ instanceId: FIRST, hostname: 'lab-vm', publicKeys: [metaKeyPub], userData: firstBootUserData(image) }));
    await boot(FIRST);
    console.log(await checks.cloudInitClean(target, FIRST));
    console.log(await checks.bootHygiene(target));
    expect((await lab.metadataRequests()).some((r) => r.path === '/v1.json' && r.token === 'cloudinit')).toBe(true);
    expect((await vm.ssh(target.key, target.admin, 'hostname')).stdout.trim()).toBe('lab-vm');
    firstKeys = await vm.hostKeys();
    expect(firstKeys.length).toBeGreaterThan(0);
  });

  it('the metadata key logs in as the admin; a password does not, root does not, though the user-data asked for passwords', { timeout: 10 * 60_000 }, async () => {
    console.log(await checks.sshDecisionHolds(target));
    console.log(await checks.loginsAsExpected(target));
  });

  it('user-data that runs a container on the public network works on the first boot, and the router reaches it', { timeout: 10 * 60_000 }, async () => {
    console.log(await checks.firstBootUserData(target, 'firstboot', 'public'));
    firstbootAddress = await checks.containerAddress(target, 'firstboot');
    await checks.waitUntilReachable(target, firstbootAddress, 120_000);
    expect((await lab.router(['curl', '-g', '-fsS', '--max-time', '8', `http://[${firstbootAddress}]:80/`])).stdout.trim()).toBe('lab-container');
  });

  it("the nightly install gate's checks (install-check's own list, scripts/lab/install-gate.ts) all pass here, as the nightly runs them on what d-i installed, so the gate's code has run before a nightly depends on it: the install complete, cloud-init clean, the /80 the CLI computes, a container on public answering from outside (the published port only) and connecting out from its own address, no metadata for containers (and without our nftables table they read it: the control), every container answering, ndppd sandboxed, IPv6 forwarded only for Docker", { timeout: 20 * 60_000 }, async () => {
    // The disk's late.sh met a package source that failed once (case (a) of
    // partial-install.slow.test.ts): the install it left is complete all the same. The
    // every-container check at a smaller scale than the nightly's: the next stage starts 23.
    const results = await runGate(await gateSteps(target, FIRST, NETWORK_64, LAB_SCALE), (line) => console.log(line));
    expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
    expect(target.expectedPrefix).toBe(EXPECTED_PREFIX);
    expect(EXPECTED_PREFIX).toBe('2001:db8:5:16::/80');
    expect(results.map((r) => r.name)).toEqual(expect.arrayContaining(['containers cannot reach the metadata service', "ndppd sandboxed; IPv6 forwarded only to and from Docker's bridges"]));
    // The gate's container 'web' reads the metadata once our table is gone; back as the
    // guard's unit loads it (its forward chain too) for the stages that follow.
    console.log(await checks.metadataGuardControl(target, 'web'));
    // 'web' stays (the reboot brings it back); the gate's others go before the next stage's.
    container = await checks.containerAddress(target, 'web');
    await checks.sudo(target, `docker rm -f ${gateContainers(LAB_SCALE).join(' ')} >/dev/null`);
  });

  it('every container: 10 on public at once, 10 more, 3 restarted so that each comes back on another\'s address, each answering the router\'s ping and its published port within 5 s of starting', { timeout: 40 * 60_000 }, async () => {
    const batch = async (label: string, list: string[], how: 'run' | 'restart') => {
      const reached = await reach.startAndReach(target, list, how, { network: 'public', giveUpSeconds: REACH_LIMIT + 5 });
      console.log(reach.describeBatch(label, reached, REACH_LIMIT));
      return reached;
    };
    const within = (r: reach.Reached) => reach.answeredWithin(r, REACH_LIMIT);
    const first = await batch('10 containers at once', names('a', 10), 'run');
    const second = await batch('10 more', names('b', 10), 'run');
    const restarted = await batch('3 of them restarted', names('a', 3), 'restart');
    const all = [...first, ...second, ...restarted];
    expect(all.filter((r) => !within(r)).map((r) => `${r.name} [${r.address}] ping ${r.ping} s, port ${r.port} s`)).toEqual([]);
    expect(all).toHaveLength(23);
    console.log(`restarted: ${restarted.map((r) => `${r.name} ${first.find((f) => f.name === r.name)?.address} → ${r.address}`).join(', ')}`);
    expect(restarted.filter((r) => r.address !== first.find((f) => f.name === r.name)?.address).length, 'no restarted container came back on another address').toBeGreaterThan(0);
    console.log(await reach.proxyEntriesInStep(target, 60_000));

    // 60 s of pings to the 3 restarted containers under the router's neighbour checks, while
    // the other 17 are removed and the next stage starts and removes containers of its own:
    // the keeper changes the proxy entries all along. Awaited after that stage.
    watchedNames = restarted.map((r) => r.name);
    nudRun = reach.pingUnderNud(target, restarted.map((r) => r.address), 60);
    churn = checks.sudo(target, `docker rm -f ${[...names('a', 10).slice(3), ...names('b', 10)].join(' ')} >/dev/null`);
    // Failures are read where they are awaited; until then they are not unhandled.
    nudRun.catch(() => undefined);
    churn.catch(() => undefined);
  });

  it('the acceptance run\'s half after the login, as the real run does it: a container on docker.network, its address in the /80, its published port from outside, and from the VM itself as the nightly (no IPv6 on its runner) does; started without that network it fails (the control)', { timeout: 10 * 60_000 }, async () => {
    const vmAccess = labAccess(target);
    // The network as the real run picks it, from the config the VM was installed with.
    const network = acceptanceNetwork((await checks.installedConfig(target)).docker);
    expect(network).toBe('public');
    const run = await checkPublicContainer(vmAccess, { image: 'lab/busybox', network, containerPrefix: target.expectedPrefix, name: 'acceptance', hostPort: 8081 }, console.log);
    expect(run.failures).toEqual([]);
    // The nightly's way (--no-ipv6-check: GitHub's runners have no IPv6): no outside, so the
    // VM fetches the container's address itself, with the real run's code for it.
    const fromTheVm = await checkPublicContainer({ ssh: vmAccess.ssh }, { image: 'lab/busybox', network, containerPrefix: target.expectedPrefix, name: 'acceptance', hostPort: 8081 }, console.log);
    expect(fromTheVm.failures).toEqual([]);
    expect(fromTheVm.seen.at(-1)).toMatch(/^its published port answered from the VM itself/);
    const control = await checkPublicContainer(vmAccess, { image: 'lab/busybox', network: undefined, containerPrefix: target.expectedPrefix, name: 'acceptance-control', hostPort: 8082 });
    expect(control.failures).toEqual([expect.stringMatching(/^the container on Docker's default bridge has no IPv6 address/)]);
    await checks.sudo(target, 'docker rm -f acceptance acceptance-control >/dev/null');
  });

  it('60 s of pings to 3 containers under the router\'s neighbour checks (its entries STALE within 1.5 s, then probed) lose nothing, while the VM removes 17 others and runs the acceptance run\'s check; the old ndppd "auto" fails the every-container start check (the control); the kernel\'s proxy entries then match the running containers', { timeout: 15 * 60_000 }, async () => {
    expect(nudRun, 'the every-container stage did not start the pings').toBeDefined();
    const nud = await nudRun!;
    await churn;
    console.log(`60 s of pings to 3 containers with the router checking its neighbour entries: ${nud.lost} of ${nud.sent} replies lost; the router's unicast probes answered ${nud.tally.unicastAnswered} of ${nud.tally.unicast}, its lookups ${nud.tally.multicastAnswered} of ${nud.tally.multicast}`);
    expect(nud.tally.unicast, 'the router sent no unicast probes: the NUD check proves nothing').toBeGreaterThan(0);
    expect(nud.tally.unicastAnswered).toBe(nud.tally.unicast);
    expect(nud.lost).toBe(0);

    // The control, given 20 s: not slow, but never answered (ndppd's defect, not the machine's
    // load). After the pings: it takes NDP back to what it was, which no ping may see.
    const control = await reach.withOldAutoNdppd(target, () => reach.startAndReach(target, names('c', 3), 'run', { network: 'public', giveUpSeconds: 20 }));
    console.log(reach.describeBatch('the control (ndppd "auto", no kernel proxy entries, as before)', control, REACH_LIMIT));
    expect(control.filter((r) => r.ping === null).length, 'with the old rule every new container answered within 20 s').toBeGreaterThan(0);
    await checks.sudo(target, `docker rm -f ${[...watchedNames, ...names('c', 3)].join(' ')} >/dev/null`);
    console.log(await reach.proxyEntriesInStep(target, 60_000));
  });

  it('after a reboot all of it still holds', { timeout: BOOT_MS + 15 * 60_000 }, async () => {
    await checks.shutdown(target, 'reboot');
    const kernelAt = await vm.waitForSerial(/Linux version/, 10 * 60_000, 2);
    // Docker hands the two containers that come back (web, firstboot) their addresses anew,
    // in the order they start: either address may be either's.
    const reachableAt = await checks.waitUntilReachable(target, [container, firstbootAddress], BOOT_MS);
    await vm.waitForSsh(target.key, target.admin, BOOT_MS);
    console.log(`reboot: ${await checks.bootFigures(target, kernelAt, reachableAt)}`);
    console.log(await checks.cloudInitClean(target, FIRST));
    console.log(await checks.ipv6Ready(target, 'metadata'));
    const before = container;
    container = await checks.containerAddress(target, 'web');
    console.log(`web: ${before} before the reboot, ${container} after`);
    console.log(await checks.exposure(target, container, 'closed'));
    console.log(await checks.metadataGuarded(target, 'web'));
    console.log(await checks.recheckQuiet(target));
    expect(await vm.hostKeys()).toEqual(firstKeys);
    // For the next stage: a container on the network that is not running when the /80 moves.
    await checks.stoppedContainer(target, 'idle', 'public');
  });

  it('the same disk as a new instance, on a network without IPv6 (no router advertisement, the metadata lists none): new host keys, SSH and Docker work, one line says why containers have no public IPv6', { timeout: BOOT_MS + 15 * 60_000 }, async () => {
    await checks.shutdown(target, 'poweroff');
    await vm.exited;
    await lab.stopAdvertising();
    await lab.setMetadata(vultrMetadata({ instanceId: CLONE, hostname: 'lab-vm-2', publicKeys: [metaKeyPub], ipv6: NO_IPV6 }));
    await boot(CLONE);
    console.log(await checks.cloudInitClean(target, CLONE));
    const keys = await vm.hostKeys();
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((k) => firstKeys.includes(k))).toEqual([]);
    console.log(await checks.ipv4Only(target));
    console.log(await checks.runIpv4Container(target, 'v4'));
    // As a /80 move cut short leaves it: a container disconnected, and the record of it.
    await checks.interruptedMove(target, 'half');
  });

  it('there a container on the default bridge cannot read the metadata service either; without our nftables table it can (the control)', { timeout: 10 * 60_000 }, async () => {
    console.log(await checks.metadataGuarded(target, 'v4'));
    console.log(await checks.metadataGuardControl(target, 'v4'));
  });

  it('IPv6 enabled later, in another /64, with malformed metadata: without a reboot the /80 comes from SLAAC and the public network moves into it with all its containers, the stopped one and a move cut short too', { timeout: LATE_IPV6_MS + 15 * 60_000 }, async () => {
    // Wrong types and a /56: the boot program must fall back to the uplink's own /64.
    await lab.setMetadata(vultrMetadata({ instanceId: CLONE, hostname: 'lab-vm-2', publicKeys: [metaKeyPub], ipv6: { additional: [], address: 42, network: ['2001:db8:5:17::'], prefix: '56' } }));
    // Forwarding is already on when the /64 arrives (Docker, or an admin, turned it on): the
    // advertisement is heard only because accept_ra=2 was set on this IPv4-only boot too.
    const before = (await checks.sudo(target, 'cat /proc/sys/net/ipv6/conf/enp1s0/accept_ra /proc/sys/net/ipv6/conf/all/forwarding')).trim().split('\n');
    expect(before[0], 'accept_ra on the uplink of an IPv4-only boot').toBe('2');
    if (before[1] !== '1') await checks.sudo(target, 'sysctl -qw net.ipv6.conf.all.forwarding=1');
    console.log(`before the /64: accept_ra 2, forwarding ${before[1] === '1' ? 'already on (Docker)' : 'turned on by the test'}`);
    await lab.moveNetwork(CLONE_64);
    target.expectedPrefix = labContainerPrefix('auto', CLONE_64);
    expect(target.expectedPrefix).toBe('2001:db8:5:17::/80');
    const ms = await checks.waitForLateIpv6(target, LATE_IPV6_MS);
    console.log(`the /80 came ${Math.round(ms / 1000)} s after the router started to advertise`);
    console.log(await checks.ipv6Ready(target, 'slaac'));
    const warnings = await checks.ipv6Warnings(target);
    expect(warnings, warnings.join('\n')).toHaveLength(2);
    expect(warnings[0]).toMatch(/^vultr-sid-ipv6: no public IPv6 for containers: /);
    expect(warnings[1]).toMatch(/^vultr-sid-ipv6: metadata at .* is not usable/);
    console.log(await checks.exposure(target, await checks.containerAddress(target, 'web'), 'closed'));
    console.log(await checks.stoppedContainerKept(target, 'idle', 'public'));
    console.log(await checks.interruptedMoveFinished(target, 'half', 'public'));
    console.log(await checks.metadataGuarded(target, 'web'));
    console.log(await checks.recheckQuiet(target));
  });
});
