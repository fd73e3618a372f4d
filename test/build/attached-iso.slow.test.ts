// An ISO left attached to a VM is harmless: its default entry boots the installed system when
// the disk holds one, before any installer code runs, and starts the automated install only
// on a blank disk (the blank-disk boots, and the data disks the guard refuses, are in
// boot-netinst/boot-mini). The ERASING entry, picked in the menu by key as a
// person would, still installs over a system: the guard lets it, and unmounts what the
// installer mounted of it. Under SeaBIOS (how Vultr boots custom ISOs)
// and OVMF. The "installed system" is a stand-in disk with GRUB for BIOS and UEFI whose
// grub.cfg prints a marker (scripts/fixtures/build-installed-disk.sh).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOT_LIMIT_MS, buildInto, GUARD, MARKER } from '../helpers/boot-check.js';
import { copyOfDisk, installedDisk, sha256OfFile } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/project.js';
import { bootIso } from '../helpers/qemu.js';

const INSTALLED = 'vultr-sid-iso-test: installed system booted';
// The menu is up and counting down (ISOLINUX's autoboot line, GRUB's own): keys now reach it.
const MENU = /Press a key for the menu|will be executed automatically/;
const FIRMWARES = [
  ['bios', 'msdos'],
  ['uefi', 'gpt'],
] as const;

const count = (text: string, needle: string) => text.split(needle).length - 1;
const { wiping: WIPE_OK, refused: REFUSAL, unmounted: UNMOUNTED } = GUARD;

// One ISO for the file's six boots (QEMU only reads it): each build is a repack and a hash.
let isoDir: string;
let iso: string;
beforeAll(async () => {
  isoDir = await mkdtemp(join(tmpdir(), 'vsi-attached-'));
  iso = await buildInto(isoDir, 'netinst');
}, 300_000);
afterAll(async () => {
  if (isoDir) await rm(isoDir, { recursive: true, force: true });
});

describe.each(FIRMWARES)('the ISO left attached, under %s (a %s disk)', (firmware, layout) => {
  it('boots the installed system, never the installer, and leaves the disk as it was', { timeout: BOOT_LIMIT_MS + 120_000 }, async () => {
    const dir = await tempDir();
    const disk = await copyOfDisk(await installedDisk(layout), dir);
    const before = await sha256OfFile(disk);
    const boot = await bootIso(iso, { firmware, workDir: dir, disk, until: new RegExp(`${INSTALLED}|${MARKER}`), timeoutMs: BOOT_LIMIT_MS });
    expect(boot.serial, boot.serial.slice(-1500)).toContain(INSTALLED);
    expect(boot.serial).toMatch(/vultr-sid-iso: installed system found at \(hd\d,\d+\)\/\S+/);
    expect(boot.serial).toMatch(/vultr-sid-iso: booting the installed system on hd\d/);
    expect(boot.serial).not.toContain(MARKER);
    expect(await sha256OfFile(disk)).toBe(before);
  });

  it('boots it again on every reboot: three boots in a row reach the installed system', { timeout: BOOT_LIMIT_MS + 120_000 }, async () => {
    const dir = await tempDir();
    // gpt: the reboot-counting stand-in; it has GRUB for both firmwares.
    const disk = await copyOfDisk(await installedDisk('gpt', 'reboot3'), dir);
    const boot = await bootIso(iso, { firmware, workDir: dir, disk, reboots: true, until: /installed system booted \(boot 3,/, timeoutMs: BOOT_LIMIT_MS });
    expect(boot.serial, boot.serial.slice(-1500)).toMatch(/installed system booted \(boot 3,/);
    // Boots 1, 2 and 3 and no other. (OVMF copies GRUB's console to the serial port as well,
    // so under UEFI every line GRUB writes shows twice.)
    expect(new Set([...boot.serial.matchAll(/installed system booted \(boot (\d+),/g)].map((m) => m[1]))).toEqual(new Set(['1', '2', '3']));
    // Each boot went through the ISO's decision (the CD is first in the boot order).
    const decisions = count(boot.serial, 'vultr-sid-iso: booting the installed system on hd');
    expect(decisions).toBe(count(boot.serial, INSTALLED));
    expect([3, 6]).toContain(decisions);
    expect(boot.serial).not.toContain(MARKER);
  });

  it(`the ERASING entry, picked in the menu, starts the installer over the installed system, and the data-loss guard lets it (vultr-sid-iso/wipe=true)${layout === 'gpt' ? "; the EFI system partition the installer mounted at /media is unmounted for partman" : ''}`, { timeout: BOOT_LIMIT_MS + 120_000 }, async () => {
    const dir = await tempDir();
    const disk = await copyOfDisk(await installedDisk(layout), dir);
    const boot = await bootIso(iso, {
      firmware,
      workDir: dir,
      disk,
      // Down to the second entry (ERASING) and Enter, before the 5 s timeout.
      keys: [{ when: MENU, send: ['down', 'ret'] }],
      // On to the guard's early check (early.sh runs it after the marker). Loading the preseed
      // mounts the gpt disk's EFI system partition at /media (d-i's mountmedia); the guard used
      // to take any mounted disk for the installation medium and said nothing about this one.
      until: new RegExp(`${layout === 'gpt' ? UNMOUNTED.source : WIPE_OK.source}|${REFUSAL.source}|${INSTALLED}`),
      timeoutMs: BOOT_LIMIT_MS,
    });
    expect(boot.serial, boot.serial.slice(-1500)).toContain(MARKER);
    expect(boot.serial, boot.serial.slice(-1500)).toMatch(WIPE_OK);
    if (layout === 'gpt') expect(boot.serial, boot.serial.slice(-1500)).toMatch(UNMOUNTED);
    expect(boot.serial).not.toMatch(REFUSAL);
    expect(boot.serial).not.toContain(INSTALLED);
    expect(boot.serial).not.toMatch(/booting the installed system on hd\d/);
  });
});
