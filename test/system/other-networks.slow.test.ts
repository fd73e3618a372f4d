// The installed system on a network other than the one we planned for: an IPv4-only VM (the
// router sends no advertisement, the metadata lists no IPv6), then IPv6 that comes later (the
// router starts to advertise a /64, as when IPv6 is enabled on the instance). The same sid
// disk and lab as installed-system.slow.test.ts, one VM, stages that build on each other.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as checks from '../../scripts/lab/installed-checks.js';
import { labKey, sidDisk, type SidDisk } from '../../scripts/lab/sid-disk.js';
import { NETWORK_64, VultrLab, type LabVm } from '../../scripts/lab/vultr-lab.js';
import { labContainerPrefix, vultrMetadata } from '../../scripts/lab/vultr-metadata.js';

const INSTANCE = '2e7b5c90-3a1f-4d8e-b6c2-9f0a1d3e5b71';
/** First boots under TCG spend minutes compiling AppArmor profiles and starting Docker. */
const BOOT_MS = 40 * 60_000;
/** The recheck timer looks every minute; a loaded TCG guest may take several to act. */
const LATE_IPV6_MS = 10 * 60_000;
/** What Vultr's metadata says about the public interface of an instance without IPv6. */
const NO_IPV6 = { additional: [], address: '', network: '', prefix: '' };

let dir: string;
let disk: SidDisk;
let lab: VultrLab;
let vm: LabVm;
let target: checks.Target;
let metaKeyPub: string;

describe.sequential('an IPv4-only VM, and IPv6 that comes later (sid packages, QEMU)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vsi-lab-'));
    disk = await sidDisk({ log: (l) => console.log(l) });
    const key = await labKey(join(dir, 'keys'), 'metadata');
    metaKeyPub = (await readFile(`${key}.pub`, 'utf8')).trim();
    lab = await VultrLab.up(dir, { routerAdvertisements: false });
    target = { lab, vm: undefined as unknown as LabVm, admin: 'debian', key, expectedPrefix: labContainerPrefix() };
  }, 30 * 60_000);

  afterAll(async () => {
    await lab?.down();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('boots without IPv6: SSH and Docker work, and one warning line says why containers have no public IPv6', { timeout: BOOT_MS + 10 * 60_000 }, async () => {
    await lab.setMetadata(vultrMetadata({ instanceId: INSTANCE, hostname: 'lab-v4', publicKeys: [metaKeyPub], ipv6: NO_IPV6 }));
    vm = await lab.boot({ name: 'vm', disk: disk.disk, direct: { kernel: disk.kernel, initrd: disk.initrd, append: disk.append }, instanceId: INSTANCE });
    target.vm = vm;
    await vm.waitForSsh(target.key, target.admin, BOOT_MS);
    console.log(await checks.cloudInitClean(target, INSTANCE));
    console.log(await checks.ipv4Only(target));
    await checks.importBusybox(target);
    console.log(await checks.runIpv4Container(target, 'v4'));
    // As a /80 move cut short leaves it: a container disconnected, and the record of it.
    await checks.interruptedMove(target, 'half');
  });

  it('a container on the default bridge cannot read the metadata service; without our nftables table it can (the control)', { timeout: 10 * 60_000 }, async () => {
    console.log(await checks.metadataGuarded(target, 'v4'));
    await checks.sudo(target, 'nft delete table inet vultr_sid_iso');
    expect(await checks.containerReadsMetadata(target, 'v4')).toBe(true);
    // Back as the guard's unit loads it (restarting the unit would restart Docker too).
    await checks.sudo(target, 'nft -f /etc/vultr-sid-iso/metadata-guard.nft');
    console.log(await checks.metadataGuarded(target, 'v4'));
  });

  it('IPv6 enabled later: the router advertises a /64, and without a reboot the containers get its /80 and answer on it; a move cut short is finished', { timeout: LATE_IPV6_MS + 15 * 60_000 }, async () => {
    // What Vultr's metadata says once the instance has IPv6: its /64 and SLAAC address.
    await lab.setMetadata(vultrMetadata({ instanceId: INSTANCE, hostname: 'lab-v4', publicKeys: [metaKeyPub] }));
    await lab.advertise(NETWORK_64);
    const ms = await checks.waitForLateIpv6(target, LATE_IPV6_MS);
    console.log(`the /80 came ${Math.round(ms / 1000)} s after the router started to advertise`);
    console.log(await checks.ipv6Ready(target, 'metadata'));
    // The first run with a /80 finishes the move that was cut short.
    console.log(await checks.interruptedMoveFinished(target, 'half', 'public'));
    const address = await checks.runContainer(target, 'web', 'public');
    console.log(await checks.exposure(target, address, 'closed'));
    console.log(await checks.metadataGuarded(target, 'web'));
    console.log(await checks.recheckQuiet(target));
  });

  it('fails closed: when the guard cannot be applied, Docker does not start, and the console says why in one line', { timeout: 10 * 60_000 }, async () => {
    console.log(await checks.guardFailsClosed(target));
  });
});
