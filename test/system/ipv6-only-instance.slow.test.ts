// The sid disk as an instance without public IPv4, in a second lab beside the one of
// installed-system.slow.test.ts (two VMs at once use the machine's idle time; one chain of
// stages would be the run's longest path): Vultr's IPv6-only network, a container there and
// the metadata guard, then on the same VM the all-ports control for every "the unpublished
// port does not answer", and last a guard that cannot be applied. (The nightly install gate's
// checks run on the main lab's VM, dual-stack as the nightly's.)
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as checks from '../../scripts/lab/installed-checks.js';
import { labKey } from '../../scripts/lab/sid-disk.js';
import { IPV6_ONLY, type LabVm } from '../../scripts/lab/vultr-lab.js';
import { labContainerPrefix, vmSlaacAddress, vultrMetadata } from '../../scripts/lab/vultr-metadata.js';
import { parsePrefix } from '../../src/net/ipv6.js';
import { checkInstallReport } from '../../src/vm/install-report.js';
import { reportUserData } from '../../src/vm/report-user-data.js';
import { BOOT_MS, bootInstance, closeLab, openLab, type Lab } from '../helpers/lab-vm.js';

const V6_ONLY = '6b2e9d41-7c3a-4f58-8e1d-2a9c4b7f0e35';
/** The IPv6-only instance's /64. */
const IPV6_ONLY_64 = '2001:db8:5:18::/64';
/** What Vultr's metadata says about the public IPv4 of an instance without one (disable_public_ipv4). */
const NO_IPV4 = { additional: [], address: '', gateway: '', netmask: '' };

let l: Lab;
let vm: LabVm;
let target: checks.Target;

describe.sequential('an instance without public IPv4 in a Vultr-like lab (sid packages, QEMU)', () => {
  beforeAll(async () => {
    l = await openLab();
    target = { lab: l.lab, vm: undefined as unknown as LabVm, admin: 'debian', key: l.metaKey, expectedPrefix: labContainerPrefix() };
  }, 30 * 60_000);

  afterAll(async () => {
    await closeLab(l);
  });

  it('the sid disk as an instance without public IPv4 (a 100.68.0.0/18 lease with only the classless route to the metadata, no default route; IPv6 by RA): cloud-init takes Vultr\'s metadata clean, the /80 comes from it, the user-data\'s key logs in, nothing waits for an IPv4 default route, and the install report arrives over IPv6', { timeout: BOOT_MS + 20 * 60_000 }, async () => {
    await l.lab.ipv6OnlyNetwork(IPV6_ONLY_64);
    const userKey = await labKey(join(l.dir, 'keys'), 'user-data');
    // What vm create --ipv6-only hands the VM: the user's user-data and the install report's
    // program, which PUTs the report to a presigned URL (here: the router, over IPv6 only).
    const store = await l.lab.receiveFiles(IPV6_ONLY_64.replace('::/64', ':ffff::1'), 8098);
    const userData = reportUserData(Buffer.from(`#cloud-config\nssh_authorized_keys:\n  - ${(await readFile(`${userKey}.pub`, 'utf8')).trim()}\n`), `${store.url}/lab/report.json?X-Amz-Signature=lab`).toString('utf8');
    await l.lab.setMetadata(vultrMetadata({ instanceId: V6_ONLY, hostname: 'lab-v6', publicKeys: [l.metaKeyPub], userData, ipv4: NO_IPV4, ipv6: { additional: [], address: vmSlaacAddress(IPV6_ONLY_64), network: IPV6_ONLY_64.replace('/64', ''), prefix: '64' } }));
    target.expectedPrefix = labContainerPrefix('auto', IPV6_ONLY_64);
    vm = await bootInstance(l, V6_ONLY, target.admin);
    target = { ...target, vm };
    // The lab has no registry: the containers' image comes over SSH, first, so that a failed
    // check cannot take the stages after it down with it.
    await checks.importBusybox(target);
    console.log(await checks.ipv6OnlyBoot(target, IPV6_ONLY.vm));
    // cloud-init found Vultr's datasource over the lease's route, and the boot program took the
    // /64 from the metadata (the SLAAC fallback would give the same /80 here: the source tells).
    console.log(await checks.cloudInitClean(target, V6_ONLY));
    console.log(await checks.ipv6Ready(target, 'metadata'));
    expect((await vm.ssh(userKey, target.admin, 'id -un')).stdout.trim(), "the user-data's key").toBe(target.admin);
    // The install report arrived over IPv6, and vm create would take it.
    let report: string | undefined;
    for (const deadline = Date.now() + 10 * 60_000; !(report = await store.received('report.json')) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5000));
    expect(report, 'no install report arrived within 10 minutes').toBeDefined();
    const taken = checkInstallReport(report!, V6_ONLY, parsePrefix(IPV6_ONLY_64));
    expect(taken).toEqual({ report: expect.objectContaining({ instanceId: V6_ONLY, containerPrefix: target.expectedPrefix, ipv6: true, sshd: true, missing: [] }) });
    console.log(`install report: ${report!.trim()}`);
  });

  it('there a container on public answers from outside on its published port only and connects out from its own address (no IPv4 at all), and cannot read the metadata; without our nftables table it can (the control)', { timeout: 20 * 60_000 }, async () => {
    const address = await checks.runContainer(target, 'web', 'public');
    console.log(await checks.exposure(target, address, 'closed'));
    console.log(await checks.outgoingFromOwnAddress(target, 'web', address));
    // The metadata is reached by the lease's classless route here, not a default route.
    console.log(await checks.metadataGuarded(target, 'web'));
    console.log(await checks.metadataGuardControl(target, 'web'));
    // The stages below start from one container of their own.
    await checks.sudo(target, 'docker rm -f web >/dev/null');
  });

  it('the control for "the unpublished port does not answer": switched to docker.exposure all-ports (the original procedure), a container on the default bridge answers on it, and still connects out from its own address', { timeout: 15 * 60_000 }, async () => {
    console.log(await checks.switchToAllPorts(target, 5 * 60_000));
    const address = await checks.runContainer(target, 'open');
    console.log(await checks.exposure(target, address, 'open'));
    console.log(await checks.outgoingFromOwnAddress(target, 'open', address));
  });

  it('fails closed: when the guard cannot be applied, Docker does not start, and the console says why in one line', { timeout: 10 * 60_000 }, async () => {
    console.log(await checks.guardFailsClosed(target));
  });
});
