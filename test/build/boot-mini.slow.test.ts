// Boots the ISO built from the mini stand-in under SeaBIOS and OVMF (QEMU, TCG unless KVM).
// Under SeaBIOS with a disk that holds an MBR partition table, as d-i leaves one there: the
// data-loss guard refuses it (test/build/boot-netinst.slow.test.ts has the blank disk it
// accepts and the GPT disk it refuses under OVMF).
import { describe, it } from 'vitest';
import { BOOT_LIMIT_MS, expectGuardRefusal, expectPreseedMarker } from '../helpers/boot-check.js';

describe('mini ISO boots unattended to the preseed', () => {
  it('under bios, with a disk that holds a dos partition table: the data-loss guard refuses it, powers off, and writes nothing', { timeout: BOOT_LIMIT_MS + 120_000 }, async () => {
    await expectGuardRefusal('mini', 'bios', 'dos');
  });

  it('under uefi', { timeout: BOOT_LIMIT_MS + 120_000 }, async () => {
    await expectPreseedMarker('mini', 'uefi');
  });
});
