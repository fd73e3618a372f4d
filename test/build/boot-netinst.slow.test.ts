// Boots the ISO built from the netinst stand-in under SeaBIOS and OVMF (QEMU, TCG unless KVM).
import { describe, it } from 'vitest';
import { BOOT_LIMIT_MS, expectPreseedMarker } from '../helpers/boot-check.js';

describe('netinst ISO boots unattended to the preseed', () => {
  it.each(['bios', 'uefi'] as const)('under %s', { timeout: BOOT_LIMIT_MS + 120_000 }, async (firmware) => {
    await expectPreseedMarker('netinst', firmware);
  });
});
