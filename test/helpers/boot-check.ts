// The boot proof for the layout tests: build an ISO from a stand-in and boot it, with a blank
// disk, to the preseed marker within a time limit (scripts/preseed-boot.ts, which the nightly
// uses too); and the same boot with a disk the data-loss guard must refuse.
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { MARKER, bootToPreseed, type PreseedBoot } from '../../scripts/preseed-boot.js';
import { sha256OfFile, standinIso } from './fixtures.js';
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

/** Builds the ISO from the KIND stand-in with the CLI into DIR/out; returns its path. */
export async function buildInto(dir: string, kind: 'netinst' | 'mini', extra: string[] = []): Promise<string> {
  const base = await standinIso(kind);
  const result = await runCli(['build', '--base-iso', base, '--out-dir', join(dir, 'out'), '--json', ...extra]);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout).iso.path as string;
}

/** buildInto a directory of the test's own (removed when it ends). */
export async function buildFrom(kind: 'netinst' | 'mini', extra: string[] = []): Promise<{ iso: string; dir: string }> {
  const dir = await tempDir();
  return { iso: await buildInto(dir, kind, extra), dir };
}

/** The boot proof; `until`: boot on, past the marker, until that line shows (returns the boot for the caller's checks). */
export async function expectPreseedMarker(kind: 'netinst' | 'mini', firmware: 'bios' | 'uefi', until?: RegExp): Promise<PreseedBoot> {
  const { iso, dir } = await buildFrom(kind);
  return expectProof(await bootToPreseed(iso, firmware, BOOT_LIMIT_MS, { workDir: dir, until }));
}

function expectProof(boot: PreseedBoot): PreseedBoot {
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

/**
 * A data disk as d-i leaves one on each firmware (MBR under BIOS, GPT under UEFI): a partition
 * table, and under gpt a FAT filesystem in its partition, which the installer mounts at /media
 * when it loads the preseed (d-i's mountmedia): the guard must still see the disk, and leave it
 * as it was (a FAT left mounted is marked dirty on the disk).
 */
async function diskWithPartitionTable(dir: string, label: 'dos' | 'gpt'): Promise<string> {
  const disk = join(dir, 'disk.img');
  await writeFile(disk, Buffer.alloc(64 << 20));
  await execa('sfdisk', ['--quiet', disk], { input: `label: ${label}\nstart=2048,type=${label === 'gpt' ? 'U' : 'L'}\n` });
  if (label === 'gpt') await execa('mkfs.vfat', ['--offset', '2048', disk, String((64 << 10) - 1024 - 34 / 2)]);
  return disk;
}

/**
 * The boot proof with a disk that holds a partition table (a reboot with the ISO still attached
 * meets one): the data-loss guard refuses it, QEMU powers off by itself, and the disk is as it
 * was. One boot for both, since each costs a minute or two under TCG.
 */
export async function expectGuardRefusal(kind: 'netinst' | 'mini', firmware: 'bios' | 'uefi', label: 'dos' | 'gpt'): Promise<PreseedBoot> {
  const { iso, dir } = await buildFrom(kind);
  const disk = await diskWithPartitionTable(dir, label);
  const before = await sha256OfFile(disk);
  // On until QEMU ends: the refusal powers the VM off.
  const boot = expectProof(await bootToPreseed(iso, firmware, BOOT_LIMIT_MS, { workDir: dir, disk, until: /(?!)/ }));
  expect(boot.serial, boot.serial.slice(-1500)).toMatch(GUARD.refused);
  expect(boot.serial).not.toMatch(GUARD.accepted);
  if (label === 'gpt') expect(boot.serial).toMatch(GUARD.unmounted);
  expect(boot.exited, 'QEMU should power off by itself').toBe(true);
  expect(await sha256OfFile(disk)).toBe(before);
  return boot;
}
