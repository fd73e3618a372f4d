// The data-loss guard, in QEMU: the built ISO with a disk that holds a partition table
// refuses, powers off and leaves the disk as it was. (A blank disk accepted: the netinst
// boot, boot-netinst.slow.test.ts; the wipe boot parameter's override, where the ERASING entry
// is picked: attached-iso.slow.test.ts.)
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOOT_LIMIT_MS, buildFrom, GUARD, MARKER } from '../helpers/boot-check.js';
import { bootIso } from '../helpers/qemu.js';

const { refused: REFUSAL } = GUARD;
const sha256 = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');

/**
 * A data disk: a partition table, and under gpt a FAT filesystem in its partition, which the
 * installer mounts at /media when it loads the preseed (d-i's mountmedia): the guard must still
 * see the disk, and leave it as it was (a FAT left mounted is marked dirty on the disk).
 */
async function diskWithPartitionTable(dir: string, label: 'dos' | 'gpt'): Promise<string> {
  const disk = join(dir, 'disk.img');
  await writeFile(disk, Buffer.alloc(64 << 20));
  await execa('sfdisk', ['--quiet', disk], { input: `label: ${label}\nstart=2048,type=${label === 'gpt' ? 'U' : 'L'}\n` });
  if (label === 'gpt') await execa('mkfs.vfat', ['--offset', '2048', disk, String((64 << 10) - 1024 - 34 / 2)]);
  return disk;
}

describe('data-loss guard', () => {
  // The label d-i writes on each firmware (MBR under BIOS, GPT under UEFI), so what a reboot
  // with the ISO still attached meets. (disk-probe.test.ts covers filesystems and swap with
  // the same tools, without a boot.)
  it.each([
    ['bios', 'dos'],
    ['uefi', 'gpt'],
  ] as const)('under %s: refuses a disk with a %s partition table (gpt: and a FAT filesystem the installer mounts), powers off, and writes nothing', { timeout: BOOT_LIMIT_MS + 120_000 }, async (firmware, label) => {
    const { iso, dir } = await buildFrom('netinst');
    const disk = await diskWithPartitionTable(dir, label);
    const before = await sha256(disk);
    const boot = await bootIso(iso, { firmware, workDir: dir, disk, until: /(?!)/, timeoutMs: BOOT_LIMIT_MS });
    expect(boot.serial, boot.serial.slice(-1500)).toContain(MARKER);
    expect(boot.serial).toMatch(REFUSAL);
    if (label === 'gpt') expect(boot.serial).toMatch(GUARD.unmounted);
    expect(boot.exited, 'QEMU should power off by itself').toBe(true);
    expect(await sha256(disk)).toBe(before);
  });

  // A blank disk accepted: test/build/boot-netinst.slow.test.ts, on its SeaBIOS boot.

  // The ERASING entry (vultr-sid-iso/wipe=true) let through: test/build/attached-iso.slow.test.ts,
  // picked in the menu under SeaBIOS.
});
