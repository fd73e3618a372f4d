// The guard's disk probe, run by the real installer's own tools (helpers/installer-root.ts):
// its busybox sh, dd and printf and util-linux's blkid, exactly as in d-i.
// (The guard once compared bytes with od, which d-i's busybox lacks: MBR disks, what d-i
// writes under BIOS, looked blank and would have been wiped.)
import { execa } from 'execa';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inInstaller as run, INSTALLER_PATH, NO_CHROOT, useInstallerRoot } from '../helpers/installer-root.js';
import { standinIso } from '../helpers/fixtures.js';
import { useRenderedConfig } from '../helpers/project.js';

const WITH_BLKID = INSTALLER_PATH;
const WITHOUT_BLKID = '/bin:/usr/bin';
const MB = 1 << 20;

const rendered = useRenderedConfig();
const installer = useInstallerRoot();
let root = '';
const standins = { netinst: '', mini: '' };

beforeAll(async () => {
  if (NO_CHROOT) return;
  root = installer.dir;
  await copyFile(join(rendered.dir, 'installer/disk-probe.sh'), join(root, 'disk-probe.sh'));
  await mkdir(join(root, 'disks'));
  // Built here, within the hook's time, when a fast run meets them missing (a fresh clone).
  for (const kind of ['netinst', 'mini'] as const) standins[kind] = await standinIso(kind);
});

/** A disk image inside the chroot: `size` zero bytes, then `prepare` on the host. */
async function disk(name: string, prepare?: (file: string) => Promise<unknown>, size = 16 * MB): Promise<string> {
  const file = join(root, 'disks', name);
  await writeFile(file, Buffer.alloc(size));
  await prepare?.(file);
  return `/disks/${name}`;
}

async function holdsData(image: string, path: string): Promise<boolean> {
  const r = await inInstaller('. /disk-probe.sh; disk_holds_data "$1"', path, image);
  expect(r.exitCode, r.stderr).toBeLessThanOrEqual(1);
  return r.exitCode === 0;
}

const inInstaller = (script: string, path: string, ...args: string[]) => run(root, script, path, ...args);

const sfdisk = (script: string) => (file: string) => execa('sfdisk', ['--quiet', file], { input: script });

describe.skipIf(NO_CHROOT)("the guard's disk probe, under the installer's own busybox and blkid", () => {
  it('runs the tools the installer has: busybox without od, util-linux blkid', async () => {
    expect((await inInstaller('command -v od', WITH_BLKID)).exitCode).not.toBe(0);
    expect((await inInstaller('blkid -V', WITH_BLKID)).stdout).toMatch(/util-linux/);
    expect((await inInstaller('command -v blkid', WITHOUT_BLKID)).exitCode).not.toBe(0);
  });

  it('finds an MBR partition table (what d-i writes under BIOS), with blkid and with dd alone', async () => {
    const image = await disk('dos.img', sfdisk('label: dos\n,,L\n'));
    expect(await holdsData(image, WITH_BLKID)).toBe(true);
    expect(await holdsData(image, WITHOUT_BLKID)).toBe(true);
  });

  it('finds a GPT partition table, with blkid and with dd alone', async () => {
    const image = await disk('gpt.img', sfdisk('label: gpt\n,,L\n'));
    expect(await holdsData(image, WITH_BLKID)).toBe(true);
    expect(await holdsData(image, WITHOUT_BLKID)).toBe(true);
  });

  it('finds a GPT header of a 4096-byte-sector disk that has no protective MBR', async () => {
    const image = await disk('gpt4k.img', async (file) => {
      const header = Buffer.alloc(4096 + 8);
      header.write('EFI PART', 4096, 'latin1');
      await writeFile(file, header, { flag: 'r+' });
    });
    expect(await holdsData(image, WITHOUT_BLKID)).toBe(true);
    expect(await holdsData(image, WITH_BLKID)).toBe(true);
  });

  it('finds a filesystem or swap written over the whole disk (no partition table)', async () => {
    expect(await holdsData(await disk('ext4.img', (f) => execa('mkfs.ext4', ['-q', '-F', f])), WITH_BLKID)).toBe(true);
    expect(await holdsData(await disk('swap.img', (f) => execa('mkswap', [f])), WITH_BLKID)).toBe(true);
  });

  // In QEMU with the ISO as a virtio disk, d-i's netboot initrd happens to leave the image's
  // FAT partition mounted on /media, which the guard's mount check also catches; nothing
  // promises that, so the guard checks the signature too.
  it('tells the installer image attached as a disk (a USB stick) from a target disk', async () => {
    const isImage = async (image: string) => (await inInstaller('. /disk-probe.sh; is_installer_image "$1"', WITH_BLKID, image)).exitCode === 0;
    for (const kind of ['netinst', 'mini'] as const) {
      await copyFile(standins[kind], join(root, 'disks', `${kind}.iso`));
      expect(await isImage(`/disks/${kind}.iso`), kind).toBe(true);
    }
    expect(await isImage(await disk('target.img', sfdisk('label: dos\n,,L\n')))).toBe(false);
    expect(await isImage(await disk('empty.img'))).toBe(false);
  });

  it('calls a blank disk blank, so a new VM installs', async () => {
    const image = await disk('blank.img');
    expect(await holdsData(image, WITH_BLKID)).toBe(false);
    expect(await holdsData(image, WITHOUT_BLKID)).toBe(false);
  });
});
