// What the lab's test files share: a lab with the sid disk and the metadata key, and a boot of
// that disk as a Vultr instance (scripts/lab/).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labKey, sidDisk, type SidDisk } from '../../scripts/lab/sid-disk.js';
import { VultrLab, type LabVm } from '../../scripts/lab/vultr-lab.js';

/** First boots under TCG spend minutes compiling AppArmor profiles and starting Docker. */
export const BOOT_MS = 40 * 60_000;

export interface Lab {
  dir: string;
  disk: SidDisk;
  lab: VultrLab;
  /** The private key whose public half the metadata serves, and that half. */
  metaKey: string;
  metaKeyPub: string;
}

export async function openLab(): Promise<Lab> {
  const dir = await mkdtemp(join(tmpdir(), 'vsi-lab-'));
  const disk = await sidDisk({ log: (l) => console.log(l) });
  const metaKey = await labKey(join(dir, 'keys'), 'metadata');
  const metaKeyPub = (await readFile(`${metaKey}.pub`, 'utf8')).trim();
  const lab = await VultrLab.up(dir);
  console.log(`sid lab: docker.io ${disk.packages.get('docker.io')}, cloud-init ${disk.packages.get('cloud-init')}, systemd ${disk.packages.get('systemd')}, linux ${disk.packages.get('linux-image-amd64')}, ndppd ${disk.packages.get('ndppd')}, openssh ${disk.packages.get('openssh-server')}`);
  return { dir, disk, lab, metaKey, metaKeyPub };
}

export async function closeLab(lab: Lab | undefined): Promise<void> {
  await lab?.lab.down();
  if (lab) await rm(lab.dir, { recursive: true, force: true });
}

/**
 * Boots the lab's disk (its overlay, kept across boots) as instance INSTANCEID and waits for
 * the admin's SSH login (a kernel that never starts fails within 2 minutes). 2 GiB, as the plan vm
 * create's examples use (vc2-1c-2gb) and the install gate boots with.
 */
export async function bootInstance(l: Lab, instanceId: string, admin: string): Promise<LabVm> {
  const vm = await l.lab.boot({ name: 'vm', disk: l.disk.disk, direct: { kernel: l.disk.kernel, initrd: l.disk.initrd, append: l.disk.append }, instanceId, reboots: true, memoryMiB: 2048 });
  await vm.waitForSerial(/Linux version/, 120_000);
  await vm.waitForSsh(l.metaKey, admin, BOOT_MS);
  return vm;
}
