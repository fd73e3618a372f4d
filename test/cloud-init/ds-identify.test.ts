// Which datasources cloud-init's ds-identify enables at boot, from the installed system's
// files. ds-identify reads DMI, /proc and /etc through PATH_ROOT; systemd-detect-virt and
// blkid stand in for the VM (a KVM guest with no CIDATA volume), because this test machine
// may itself be a container, where ds-identify ignores DMI.
import { execa } from 'execa';
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLOUD_SYSTEM_CONFIG, CLOUD_SYSTEM_CONFIG_TARGET } from '../../src/render/validate.js';
import { tempDir, useRenderedConfig } from '../helpers/project.js';

const DS_IDENTIFY = '/usr/lib/cloud-init/ds-identify';

const rendered = useRenderedConfig();

async function identify(sysVendor: string): Promise<string> {
  const root = await tempDir();
  const file = (p: string) => join(root, p);
  await mkdir(file('etc/cloud/cloud.cfg.d'), { recursive: true });
  await mkdir(file('var/lib/cloud/seed/nocloud'), { recursive: true });
  await mkdir(file('sys/class/dmi/id'), { recursive: true });
  await mkdir(file('proc'), { recursive: true });
  await mkdir(file('stubs'));
  await cp(join(rendered.dir, CLOUD_SYSTEM_CONFIG), file(CLOUD_SYSTEM_CONFIG_TARGET));
  await cp(join(rendered.dir, 'user-data'), file('var/lib/cloud/seed/nocloud/user-data'));
  await cp(join(rendered.dir, 'meta-data'), file('var/lib/cloud/seed/nocloud/meta-data'));
  await writeFile(file('sys/class/dmi/id/sys_vendor'), `${sysVendor}\n`);
  await writeFile(file('proc/cmdline'), 'BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro console=ttyS0,115200n8 console=tty1\n');
  await writeFile(file('stubs/systemd-detect-virt'), '#!/bin/sh\necho kvm\n');
  await writeFile(file('stubs/blkid'), '#!/bin/sh\nexit 0\n');
  await chmod(file('stubs/systemd-detect-virt'), 0o755);
  await chmod(file('stubs/blkid'), 0o755);
  await execa(DS_IDENTIFY, ['--force'], { env: { PATH_ROOT: root, PATH: `${file('stubs')}:${process.env.PATH}` } });
  return readFile(file('run/cloud-init/cloud.cfg'), 'utf8');
}

describe('ds-identify on the installed system', () => {
  it('on a Vultr VM, Vultr comes before the NoCloud seed', async () => {
    expect(await identify('Vultr')).toMatch(/^datasource_list: \[ Vultr, NoCloud, None \]$/m);
  });

  it('on any other machine, the NoCloud seed alone', async () => {
    expect(await identify('QEMU')).toMatch(/^datasource_list: \[ NoCloud, None \]$/m);
  });
});
