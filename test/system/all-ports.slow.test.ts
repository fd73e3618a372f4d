// The control for the lab test's "the unpublished port does not answer": the same disk built
// with the opt-in `docker.exposure: all-ports` (the seed's original behaviour) must show that
// port reachable from the router, so the check can fail.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import * as checks from '../../scripts/lab/installed-checks.js';
import { labKey, sidDisk, type SidDisk } from '../../scripts/lab/sid-disk.js';
import { VultrLab, type LabVm } from '../../scripts/lab/vultr-lab.js';
import { labContainerPrefix, vultrMetadata } from '../../scripts/lab/vultr-metadata.js';

const INSTANCE = '5b2e9c41-7d3a-4f08-9e61-0c4d8a2b7f13';
const BOOT_MS = 40 * 60_000;

let dir: string;
let disk: SidDisk;
let lab: VultrLab;

describe('the control: with docker.exposure all-ports every container port is public', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vsi-lab-'));
    disk = await sidDisk({ overrides: { docker: { exposure: 'all-ports' } }, log: (l) => console.log(l) });
    lab = await VultrLab.up(dir);
  }, 30 * 60_000);

  afterAll(async () => {
    await lab?.down();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a container on the default bridge: its unpublished port answers from the router', { timeout: BOOT_MS + 15 * 60_000 }, async () => {
    const key = await labKey(join(dir, 'keys'), 'metadata');
    await lab.setMetadata(vultrMetadata({ instanceId: INSTANCE, hostname: 'lab-vm', publicKeys: [(await readFile(`${key}.pub`, 'utf8')).trim()] }));
    const vm: LabVm = await lab.boot({ name: 'vm', disk: disk.disk, direct: { kernel: disk.kernel, initrd: disk.initrd, append: disk.append }, instanceId: INSTANCE });
    const target: checks.Target = {
      lab, vm, admin: 'debian', key,
      expectedPrefix: labContainerPrefix(),
    };
    await vm.waitForSsh(key, 'debian', BOOT_MS);
    console.log(await checks.ipv6Ready(target, 'metadata'));
    await checks.importBusybox(target);
    const address = await checks.runContainer(target, 'web');
    console.log(await checks.exposure(target, address, 'open'));
    console.log(await checks.outgoingFromOwnAddress(target, 'web', address));
  });
});
