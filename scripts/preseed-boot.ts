// The boot proof shared by the nightly (scripts/boot-check.ts) and the tests: boot an ISO
// under SeaBIOS or OVMF with a blank disk, no network and no keyboard, and require the
// preseed marker on the serial console, with no language question before it (which would
// mean the preseed was not loaded from the initrd). On a blank disk the default entry's
// decision (boot an installed system, or install) must come out as "install".
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootIso, GuestDied, type BootResult } from './qemu-boot.js';

export const MARKER = 'vultr-sid-iso: preseed loaded';
export const LANGUAGE_QUESTION = /Select a language|Choose language/;

export interface PreseedBoot extends BootResult {
  /** The marker showed, and no language question before it. */
  ok: boolean;
}

export interface PreseedBootOptions {
  /** Where QEMU's files go (default: a temporary directory, removed afterwards). */
  workDir?: string;
  /** Gets the serial log's path before the work directory is removed. */
  keepLog?: (path: string) => Promise<void>;
}

export async function bootToPreseed(iso: string, firmware: 'bios' | 'uefi', timeoutMs: number, options: PreseedBootOptions = {}): Promise<PreseedBoot> {
  const workDir = options.workDir;
  const dir = workDir ?? (await mkdtemp(join(tmpdir(), 'vsi-boot-')));
  try {
    const disk = join(dir, `blank-${firmware}.img`);
    await execa('truncate', ['-s', '4G', disk]);
    const boot = await bootIso(iso, { firmware, workDir: dir, disk, until: new RegExp(`${MARKER}|${LANGUAGE_QUESTION.source}`), timeoutMs }).catch(async (error: unknown) => {
      // A guest that died: its log is what the nightly's artifact must show.
      if (error instanceof GuestDied) await options.keepLog?.(error.serialPath);
      throw error;
    });
    await rm(disk, { force: true });
    await options.keepLog?.(boot.serialPath);
    const at = boot.serial.indexOf(MARKER);
    return { ...boot, ok: at >= 0 && !LANGUAGE_QUESTION.test(boot.serial.slice(0, at)) };
  } finally {
    if (!workDir) await rm(dir, { recursive: true, force: true });
  }
}
