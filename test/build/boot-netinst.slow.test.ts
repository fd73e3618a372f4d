// Boots the ISO built from the netinst stand-in under SeaBIOS and OVMF (QEMU, TCG unless KVM).
// Under SeaBIOS it boots on to the data-loss guard's decision on the blank disk (one boot for
// both: test/installer/guard.slow.test.ts has the disks it refuses).
import { describe, expect, it } from 'vitest';
import { BOOT_LIMIT_MS, expectPreseedMarker, GUARD } from '../helpers/boot-check.js';

describe('netinst ISO boots unattended to the preseed', () => {
  it('under bios, and the data-loss guard accepts the blank disk', { timeout: BOOT_LIMIT_MS + 120_000 }, async () => {
    const boot = await expectPreseedMarker('netinst', 'bios', new RegExp(`${GUARD.accepted.source}|${GUARD.refused.source}`));
    expect(boot.serial, boot.serial.slice(-1500)).toMatch(GUARD.accepted);
    expect(boot.serial).not.toMatch(GUARD.refused);
  });

  it('under uefi', { timeout: BOOT_LIMIT_MS + 120_000 }, async () => {
    await expectPreseedMarker('netinst', 'uefi');
  });
});
