// The boot proof shared by the nightly (scripts/boot-check.ts) and the tests: boot an ISO
// under SeaBIOS or OVMF with a blank disk (or the caller's), no network and no keyboard, and require the
// preseed marker on the serial console, with no language question before it (which would
// mean the preseed was not loaded from the initrd), the screen as the installer's main console
// (/proc/consoles, as early.sh prints it), and the installer's log copied to the serial line
// (what the install gate reads there). On a blank disk the default entry's decision (boot an
// installed system, or install) must come out as "install".
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootIso, GuestDied, type BootResult } from './qemu-boot.js';

export const MARKER = 'vultr-sid-iso: preseed loaded';
export const LANGUAGE_QUESTION = /Select a language|Choose language/;
/** A line of the installer's own log, which reaches the serial line only through early.sh's copy. */
export const LOG_COPIED = /preseed: running preseed command preseed\/early_command/;
/** The console the boot entries make the main one: the screen's first virtual terminal (src/iso/boot-menus.ts). */
export const MAIN_CONSOLE = 'tty1';

export interface PreseedBoot extends BootResult {
  /** The marker showed with no language question before it, the screen is the main console, and the installer's log follows. */
  ok: boolean;
  /** The kernel's consoles as early.sh printed them: name → flags (C: the main one). */
  consoles: Record<string, string>;
  logCopied: boolean;
}

/** early.sh's "consoles: tty1 -WU (EC p ) 4:1;ttyS0 -W- (E p a) 4:64;" line, as name → flags. */
export function parseConsoles(serial: string): Record<string, string> {
  const line = /vultr-sid-iso: consoles: ([^\r\n]*)/.exec(serial)?.[1] ?? '';
  return Object.fromEntries(line.split(';').map((c) => /^(\S+) \S+ \(([^)]*)\)/.exec(c.trim())).filter((m) => m !== null).map((m) => [m[1]!, m[2]!.trim()]));
}

export interface PreseedBootOptions {
  /** Where QEMU's files go (default: a temporary directory, removed afterwards). */
  workDir?: string;
  /** Gets the serial log's path before the work directory is removed. */
  keepLog?: (path: string) => Promise<void>;
  /** Boot on past the installer log's copy, until this line (or the language question) shows. */
  until?: RegExp;
  /** A disk of the caller's in place of the blank one (the data-loss guard's cases); left where it is. */
  disk?: string;
}

export async function bootToPreseed(iso: string, firmware: 'bios' | 'uefi', timeoutMs: number, options: PreseedBootOptions = {}): Promise<PreseedBoot> {
  const workDir = options.workDir;
  const dir = workDir ?? (await mkdtemp(join(tmpdir(), 'vsi-boot-')));
  try {
    const disk = options.disk ?? join(dir, `blank-${firmware}.img`);
    if (!options.disk) await execa('truncate', ['-s', '4G', disk]);
    const boot = await bootIso(iso, { firmware, workDir: dir, disk, until: new RegExp(`${(options.until ?? LOG_COPIED).source}|${LANGUAGE_QUESTION.source}`), timeoutMs }).catch(async (error: unknown) => {
      // A guest that died: its log is what the nightly's artifact must show.
      if (error instanceof GuestDied) await options.keepLog?.(error.serialPath);
      throw error;
    });
    if (!options.disk) await rm(disk, { force: true });
    await options.keepLog?.(boot.serialPath);
    const at = boot.serial.indexOf(MARKER);
    const consoles = parseConsoles(boot.serial);
    const logCopied = LOG_COPIED.test(boot.serial);
    const onScreen = (consoles[MAIN_CONSOLE] ?? '').includes('C');
    return { ...boot, consoles, logCopied, ok: at >= 0 && !LANGUAGE_QUESTION.test(boot.serial.slice(0, at)) && onScreen && logCopied };
  } finally {
    if (!workDir) await rm(dir, { recursive: true, force: true });
  }
}
