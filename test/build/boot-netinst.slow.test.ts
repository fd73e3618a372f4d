// Boots the ISO built from the netinst stand-in under SeaBIOS and OVMF (QEMU, TCG unless KVM),
// each on to the data-loss guard's decision: under SeaBIOS a blank disk, accepted; under OVMF
// a disk with GPT and a FAT filesystem (what d-i leaves there; the installer mounts the FAT at
// /media as it loads the preseed), refused. (The mini ISO's SeaBIOS boot has the MBR disk;
// the ERASING entry's override, picked in the menu: attached-iso.slow.test.ts.)
import { describe, expect, it } from 'vitest';
import { BOOT_LIMIT_MS, expectGuardRefusal, expectPreseedMarker, GUARD } from '../helpers/boot-check.js';

describe('netinst ISO boots unattended to the preseed', () => {
  it('under bios, and the data-loss guard accepts the blank disk', { timeout: BOOT_LIMIT_MS + 120_000 }, async () => {
    const boot = await expectPreseedMarker('netinst', 'bios', new RegExp(`${GUARD.accepted.source}|${GUARD.refused.source}`));
    expect(boot.serial, boot.serial.slice(-1500)).toMatch(GUARD.accepted);
    expect(boot.serial).not.toMatch(GUARD.refused);
  });

  it('under uefi, with a disk that holds a gpt partition table and a FAT filesystem the installer mounts: the data-loss guard unmounts it, refuses the disk, powers off, and writes nothing', { timeout: BOOT_LIMIT_MS + 120_000 }, async () => {
    await expectGuardRefusal('netinst', 'uefi', 'gpt');
  });
});
