// The boot proof for the layout tests: build an ISO from a stand-in and boot it, with a blank
// disk, to the preseed marker within a time limit (scripts/preseed-boot.ts, which the nightly
// uses too).
import { join } from 'node:path';
import { expect } from 'vitest';
import { MARKER, bootToPreseed, type PreseedBoot } from '../../scripts/preseed-boot.js';
import { standinIso } from './fixtures.js';
import { runCli, tempDir } from './project.js';

export { MARKER };
/** The data-loss guard's lines on the serial console (templates/installer/guard.sh.hbs) for the test disk, /dev/vda. */
export const GUARD = {
  refused: /vultr-sid-iso: refusing to overwrite the existing installation on \/dev\/vda/,
  accepted: /vultr-sid-iso: installing on \/dev\/vda \(no partition table or other data found\)/,
  wiping: /vultr-sid-iso: \/dev\/vda holds a partition table or other data; erasing it as the boot line asks/,
  /** What the installer mounted of the disk (a FAT partition at /media, d-i's mountmedia), released. */
  unmounted: /vultr-sid-iso: unmounted \/media, where the installer had mounted a partition of \/dev\/vda/,
};
// TCG on 2 cores needs ~110 s to the marker; with KVM it is a few seconds.
export const BOOT_LIMIT_MS = 360_000;

export async function buildFrom(kind: 'netinst' | 'mini', extra: string[] = []): Promise<{ iso: string; dir: string }> {
  const base = await standinIso(kind);
  const dir = await tempDir();
  const result = await runCli(['build', '--base-iso', base, '--out-dir', join(dir, 'out'), '--json', ...extra]);
  expect(result.exitCode, result.stderr).toBe(0);
  return { iso: JSON.parse(result.stdout).iso.path as string, dir };
}

/** The boot proof; `until`: boot on, past the marker, until that line shows (returns the boot for the caller's checks). */
export async function expectPreseedMarker(kind: 'netinst' | 'mini', firmware: 'bios' | 'uefi', until?: RegExp): Promise<PreseedBoot> {
  const { iso, dir } = await buildFrom(kind);
  const boot = await bootToPreseed(iso, firmware, BOOT_LIMIT_MS, { workDir: dir, until });
  const tail = `serial tail:\n${boot.serial.slice(-2000)}`;
  expect(boot.serial, `no marker within ${BOOT_LIMIT_MS / 1000} s; ${tail}`).toContain(MARKER);
  // The screen (its first virtual terminal) is the installer's main console; the serial line is one too.
  expect(boot.consoles, tail).toMatchObject({ tty1: expect.stringContaining('C'), ttyS0: expect.stringContaining('E') });
  expect(boot.consoles.ttyS0).not.toContain('C');
  // The installer's log follows on the serial line (what the install gate reads there).
  expect(boot.logCopied, tail).toBe(true);
  expect(boot.ok, `the language question before the marker; ${tail}`).toBe(true);
  return boot;
}
