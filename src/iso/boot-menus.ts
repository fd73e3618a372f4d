// New BIOS (ISOLINUX) and UEFI (GRUB) menus. The default entry, after a short timeout, boots
// the installed system when the disk has one and starts the automated install when it does
// not (grub-config.ts: the decision is GRUB's, on both firmwares); a separately labelled
// entry reinstalls over an existing system; Debian's own menu stays one entry away. The
// kernel console goes to screen and serial, and the same console= arguments follow "---" so
// the installed system keeps them. The screen comes last: the last console= is the one
// /dev/console (and so the installer's dialogs, an emergency shell, cloud-init's key
// fingerprints) goes to (kernel docs, admin-guide/serial-console), and Vultr's web console
// shows the screen, not the serial line. It is named tty1, the screen's first virtual terminal,
// not tty0: the installer picks its console with rootskel's reopen-console, which renames tty0
// to tty1 before it looks up the kernel's flags for it, so with console=tty0 last it finds no
// main console and runs on ttyS0 (rootskel 1.138, bookworm's and trixie's d-i). Kernel messages
// still go to both; what the tests and the nightly read on the serial line is written there by
// our scripts themselves (say.sh, and the installer's log copied by early.sh).
import { WIPE_PARAMETER } from '../render/installer-parameters.js';
import { GRUB_BIOS_IMAGE, GRUB_DECIDE_CONFIG } from './grub-config.js';
import { AUTO_INITRD } from './initrd-overlay.js';
import type { IsoLayout } from './layout.js';

export interface BootEntry {
  id: 'vultr-auto' | 'vultr-wipe';
  label: string;
  /** The installer this entry starts (the default entry: when the disk holds no installed system). */
  kernel: string;
  initrd: string;
  /** Kernel command line, without initrd=. */
  cmdline: string;
  default: boolean;
  /** Boots the installed system instead, when the target disk holds one. */
  bootsInstalledSystem: boolean;
}

export interface BootMenuOptions {
  timeout: number;
  serialConsole: boolean;
}


function consoles(serial: boolean): string {
  return serial ? 'console=ttyS0,115200n8 console=tty1' : 'console=tty1';
}

/** The kernel arguments the installer hands on to the installed system (what follows "---" in
 * every entry; d-i writes them into the installed system's GRUB_CMDLINE_LINUX_DEFAULT). The
 * lab boots its installed system with them (scripts/lab/sid-disk.ts). */
export function installedSystemArgs(serialConsole: boolean): string {
  return consoles(serialConsole);
}

export function bootEntries(layout: IsoLayout, options: BootMenuOptions): BootEntry[] {
  const c = consoles(options.serialConsole);
  const base = `auto=true priority=critical ${c}`;
  const after = installedSystemArgs(options.serialConsole);
  return [
    {
      id: 'vultr-auto',
      label: 'Boot the installed system (default when one is found), else install Debian unstable for Vultr',
      kernel: layout.kernel,
      initrd: AUTO_INITRD,
      cmdline: `${base} --- ${after}`,
      default: true,
      bootsInstalledSystem: true,
    },
    {
      id: 'vultr-wipe',
      label: 'Automated install, ERASING any system already on the disk',
      kernel: layout.kernel,
      initrd: AUTO_INITRD,
      cmdline: `${base} ${WIPE_PARAMETER} --- ${after}`,
      default: false,
      bootsInstalledSystem: false,
    },
  ];
}

/** isolinux.cfg: ours replaces the stock one; Debian's menu.cfg tree is left as it was. */
export function isolinuxConfig(layout: IsoLayout, options: BootMenuOptions): string {
  const entries = bootEntries(layout, options);
  const tenths = Math.max(1, Math.round(options.timeout * 10));
  const lines = [
    '# Written by vultr-sid-iso. After the timeout the default entry starts GRUB, which boots',
    '# the installed system if the disk has one and the automated install if it does not.',
    "# Debian's own menu (manual install, rescue, ...) is the last entry; its files are unchanged.",
    ...(options.serialConsole ? ['serial 0 115200'] : []),
    'path ',
    'ui vesamenu.c32',
    'menu title Debian unstable for Vultr (vultr-sid-iso)',
    'menu autoboot Boots the installed system (or installs on a blank disk) in # second{,s}. Press a key for the menu.',
    'prompt 0',
    `timeout ${tenths}`,
    'ontimeout vultr-auto',
    'default vultr-auto',
    `say vultr-sid-iso: booting the installed system, or installing on a blank disk, in ${options.timeout} s`,
  ];
  for (const [i, e] of entries.entries()) {
    lines.push(
      `label ${e.id}`,
      `\tmenu label ${i === 0 ? '^' : ''}${i === 1 ? e.label.replace('ERASING', '^ERASING') : e.label}`,
      ...(e.default ? ['\tmenu default'] : []),
      // GRUB decides for the default entry; it starts this same installer when the disk is blank.
      ...(e.bootsInstalledSystem ? [`\tkernel ${GRUB_BIOS_IMAGE}`] : [`\tkernel ${e.kernel}`, `\tappend initrd=${e.initrd} ${e.cmdline}`]),
    );
  }
  lines.push(
    'label debian',
    "\tmenu label ^Debian installer menu (manual install, rescue, ...)",
    '\tkernel vesamenu.c32',
    '\tappend menu.cfg',
    '',
  );
  return lines.join('\n');
}

/** grub.cfg: our entries first, then Debian's whole original grub.cfg as a submenu. */
export function grubConfig(layout: IsoLayout, options: BootMenuOptions, originalGrubCfg: string): string {
  const entries = bootEntries(layout, options);
  const lines = [
    '# Written by vultr-sid-iso. After the timeout the default entry boots the installed system',
    '# if the disk has one, and starts the automated install if it does not.',
    "# Debian's original menu is kept, unchanged, in the last submenu.",
  ];
  if (options.serialConsole) {
    lines.push('serial --unit=0 --speed=115200', 'terminal_input console serial', 'terminal_output console serial');
  }
  lines.push(`set timeout=${options.timeout}`, 'set timeout_style=menu', 'set default=vultr-auto', '');
  for (const e of entries) {
    lines.push(
      `menuentry '${e.label}' --id ${e.id} {`,
      ...(e.bootsInstalledSystem ? [`    source ${GRUB_DECIDE_CONFIG}`] : []),
      `    linux    ${e.kernel} ${e.cmdline}`,
      `    initrd   ${e.initrd}`,
      '}',
    );
  }
  const indented = originalGrubCfg
    .trimEnd()
    .split('\n')
    .map((l) => (l ? `    ${l}` : l));
  lines.push("submenu 'Debian installer menu (manual install, rescue, ...)' --id debian {", ...indented, '}', '');
  return lines.join('\n');
}

/** BIOS: GRUB's config after the decision, the same installer start as the UEFI entry. */
export function biosConfig(entry: BootEntry, serialConsole: boolean): string {
  return [
    '# Written by vultr-sid-iso. ISOLINUX\'s default entry started GRUB, whose built-in config',
    '# found this ISO and reads this file.',
    ...(serialConsole ? ['serial --unit=0 --speed=115200', 'terminal_input serial console', 'terminal_output serial console'] : []),
    `source $prefix/decide.cfg`,
    // The 16-bit boot protocol, as ISOLINUX starts the kernel: under QEMU's TCG the kernel
    // then reaches its first line 4-6 s sooner than after GRUB's 32-bit \`linux\` (bench).
    `linux16 ${entry.kernel} ${entry.cmdline}`,
    `initrd16 ${entry.initrd}`,
    'boot',
    '',
  ].join('\n');
}
