// New BIOS (ISOLINUX) and UEFI (GRUB) menus: the automated install starts by itself after a
// short timeout; a separately labelled entry allows wiping an existing system; Debian's own
// menu stays one entry away. The kernel console goes to screen and serial, and the same
// console= arguments follow "---" so the installed system keeps them.
import { WIPE_PARAMETER } from './boot-parameters.js';
import { AUTO_INITRD } from './initrd-overlay.js';
import type { IsoLayout } from './layout.js';

export interface BootEntry {
  id: 'vultr-auto' | 'vultr-wipe';
  label: string;
  kernel: string;
  initrd: string;
  /** Kernel command line, without initrd=. */
  cmdline: string;
  default: boolean;
}

export interface BootMenuOptions {
  timeout: number;
  serialConsole: boolean;
}


function consoles(serial: boolean): string {
  return serial ? 'console=tty0 console=ttyS0,115200n8' : 'console=tty0';
}

export function bootEntries(layout: IsoLayout, options: BootMenuOptions): BootEntry[] {
  const c = consoles(options.serialConsole);
  const base = `auto=true priority=critical ${c}`;
  return [
    {
      id: 'vultr-auto',
      label: 'Automated install: Debian unstable for Vultr (vultr-sid-iso)',
      kernel: layout.kernel,
      initrd: AUTO_INITRD,
      cmdline: `${base} --- ${c}`,
      default: true,
    },
    {
      id: 'vultr-wipe',
      label: 'Automated install, ERASING any system already on the disk',
      kernel: layout.kernel,
      initrd: AUTO_INITRD,
      cmdline: `${base} ${WIPE_PARAMETER} --- ${c}`,
      default: false,
    },
  ];
}

/** isolinux.cfg: ours replaces the stock one; Debian's menu.cfg tree is left as it was. */
export function isolinuxConfig(layout: IsoLayout, options: BootMenuOptions): string {
  const entries = bootEntries(layout, options);
  const tenths = Math.max(1, Math.round(options.timeout * 10));
  const lines = [
    '# Written by vultr-sid-iso. The automated install starts by itself after the timeout.',
    "# Debian's own menu (manual install, rescue, ...) is the last entry; its files are unchanged.",
    ...(options.serialConsole ? ['serial 0 115200'] : []),
    'path ',
    'ui vesamenu.c32',
    'menu title Debian unstable for Vultr (vultr-sid-iso)',
    'menu autoboot Automated install starts in # second{,s}. Press a key for the menu.',
    'prompt 0',
    `timeout ${tenths}`,
    'ontimeout vultr-auto',
    'default vultr-auto',
    `say vultr-sid-iso: automated install starts in ${options.timeout} s`,
  ];
  for (const [i, e] of entries.entries()) {
    lines.push(
      `label ${e.id}`,
      `\tmenu label ${i === 0 ? '^' : ''}${i === 1 ? e.label.replace('ERASING', '^ERASING') : e.label}`,
      ...(e.default ? ['\tmenu default'] : []),
      `\tkernel ${e.kernel}`,
      `\tappend initrd=${e.initrd} ${e.cmdline}`,
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
    '# Written by vultr-sid-iso. The automated install starts by itself after the timeout.',
    "# Debian's original menu is kept, unchanged, in the last submenu.",
  ];
  if (options.serialConsole) {
    lines.push('serial --unit=0 --speed=115200', 'terminal_input console serial', 'terminal_output console serial');
  }
  lines.push(`set timeout=${options.timeout}`, 'set timeout_style=menu', 'set default=vultr-auto', '');
  for (const e of entries) {
    lines.push(
      `menuentry '${e.label}' --id ${e.id} {`,
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
