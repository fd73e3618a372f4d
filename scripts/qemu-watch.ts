// Reads a QEMU guest's serial console for the signs of a boot that is dead: a kernel Oops or
// panic, or a console that has gone quiet before the system came up. A dead guest otherwise
// spins at 100 % CPU (a panicking kernel loops forever unless told `panic=-1`) and the test
// waits out its whole timeout. Shared by every QEMU the tests and the nightly start
// (scripts/qemu-boot.ts, scripts/lab/vultr-lab.ts).
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';

/** Appended to every kernel line the harness controls: a panic reboots at once, which QEMU's
 * `-no-reboot` turns into an exit, instead of spinning. */
export const PANIC_REBOOTS = 'panic=-1';

/** How long a console may stay silent before the system is up: the longest quiet stretch of a
 * TCG first boot is well under a minute; this leaves room for a machine several times slower. */
export const STALL_MS = 8 * 60_000;

/**
 * A boot that is up, after which a quiet console is normal: a getty's prompt ("HOST login: ",
 * which kernel messages may follow on the same line), systemd's
 * multi-user target (under heavy load the serial getty may give up waiting for its device, so
 * no prompt ever comes), or our installer's preseed marker (the installer's own progress may
 * then be quiet for minutes). Before it, systemd reports every job that runs for more than a
 * few seconds, so a long silence means the guest has stopped.
 */
export const UP = /^[\w.-]+ login: |Reached target .*Multi-User System|vultr-sid-iso: preseed loaded/m;

export interface Death {
  kind: 'oops' | 'panic' | 'stall';
  /** The console's own words, e.g. "Oops: int3: 0000 [#1] SMP NOPTI". */
  what: string;
  /** The faulting function, e.g. "ktime_get_update_offsets_now+0x4c/0x110", when the console names one. */
  where?: string;
  /** The kernel had not yet started init: nothing of the installed system had run. */
  beforeInit: boolean;
  /** Where, in the console text it was read from, the boot that died began. */
  bootAt: number;
}

const OOPS = /\bOops: ([^\r\n]*)/;
const PANIC = /Kernel panic - not syncing: ([^\r\n]*)/;
const RIP = /RIP: \d+:([^\s]+)/;
/** Call-trace frames that say how a panic was raised, not where. */
const PANIC_PLUMBING = /^(dump_stack\w*|vpanic|panic|__warn\w*|\? )/;
/** Printed by the kernel as it executes init (from the initramfs, or the root file system). */
const INIT_STARTS = /Run \S+ as init process/;
/** Where a new boot starts (the kernel's banner); a console may hold several boots. */
const BOOT_STARTS = /Linux version \d/g;

/** Where the line of the last kernel banner before `before` begins (a guest may reboot within one QEMU). */
function lastBootAt(console: string, before = console.length): number {
  let start = 0;
  for (const m of console.matchAll(BOOT_STARTS)) if (m.index < before) start = console.lastIndexOf('\n', m.index) + 1;
  return start;
}

/**
 * The first Oops or panic on the console, or undefined while it looks alive. Any boot counts,
 * not only the last: a kernel told `panic=-1` in a QEMU that lets it reboot is booting again
 * a moment after its panic, before anyone has read the console.
 */
export function deathOnConsole(console: string): Death | undefined {
  const oops = OOPS.exec(console);
  const panic = PANIC.exec(console);
  const first = oops && (!panic || oops.index < panic.index) ? oops : panic;
  if (!first) return undefined;
  const bootAt = lastBootAt(console, first.index);
  const after = console.slice(first.index);
  const rip = RIP.exec(after.slice(0, 4000));
  const where = rip?.[1] ?? callerOf(after);
  const followed = first === oops && panic && panic.index - first.index < 20_000 ? `, then Kernel panic - not syncing: ${panic[1]!.trim()}` : '';
  return {
    kind: first === oops ? 'oops' : 'panic',
    what: `${first === oops ? 'Oops' : 'Kernel panic - not syncing'}: ${first[1]!.trim()}${followed}`,
    where,
    beforeInit: !INIT_STARTS.test(console.slice(bootAt, first.index)),
    bootAt,
  };
}

/** The first call-trace frame that is not the panic's own plumbing. */
function callerOf(text: string): string | undefined {
  const trace = text.split('Call Trace:')[1];
  if (!trace) return undefined;
  for (const line of trace.split('\n').slice(1, 30)) {
    const frame = line.replace(/^\[[\s\d.]+\]\s*/, '').trim();
    if (frame === '<TASK>' || !frame) continue;
    if (!PANIC_PLUMBING.test(frame)) return frame;
  }
  return undefined;
}

/** The console's last lines, without terminal control sequences, for an error message. */
export function consoleTail(console: string, lines = 15): string {
  // eslint-disable-next-line no-control-regex
  const plain = console.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[78]|\r/g, '');
  return plain.split('\n').filter((l) => l.trim()).slice(-lines).join('\n');
}

/** One line: what died, where, when, and whether init had started. */
export function describeDeath(name: string, death: Death, afterMs: number): string {
  const where = death.where ? ` in ${death.where}` : '';
  const when = death.beforeInit ? 'before init started' : 'after init started';
  return `${name} died ${(afterMs / 1000).toFixed(0)} s after QEMU started, ${when}: ${death.what}${where}`;
}

export interface ConsoleWatchOptions {
  /** A silence this long before the last boot is UP is a stall; default STALL_MS. */
  stallMs?: number;
}

/**
 * Follows a serial log from its current end (an earlier QEMU may have written to the same file)
 * and says when the guest writing to it is dead. Poll it; it never touches QEMU itself.
 */
export class ConsoleWatch {
  private readonly startedAt = Date.now();
  private lastGrowthAt = Date.now();
  private lastLength = 0;

  private constructor(
    private readonly path: string,
    private readonly offset: number,
    private readonly options: ConsoleWatchOptions,
  ) {}

  static async from(path: string, options: ConsoleWatchOptions = {}): Promise<ConsoleWatch> {
    const offset = existsSync(path) ? (await readFile(path)).length : 0;
    return new ConsoleWatch(path, offset, options);
  }

  /** This QEMU's part of the log. */
  async text(): Promise<string> {
    const all = await readFile(this.path).catch(() => Buffer.alloc(0));
    return all.subarray(this.offset).toString('utf8');
  }

  get msSinceStart(): number {
    return Date.now() - this.startedAt;
  }

  /** The death seen on the console so far, or undefined. */
  async check(): Promise<Death | undefined> {
    const text = await this.text();
    const death = deathOnConsole(text);
    if (death) return death;
    if (text.length !== this.lastLength) {
      this.lastLength = text.length;
      this.lastGrowthAt = Date.now();
    }
    const quietMs = Date.now() - this.lastGrowthAt;
    const stallMs = this.options.stallMs ?? STALL_MS;
    if (quietMs < stallMs) return undefined;
    const bootAt = lastBootAt(text);
    const boot = text.slice(bootAt);
    if (UP.test(boot)) return undefined;
    return { kind: 'stall', what: `no console output for ${Math.round(quietMs / 1000)} s before the system came up`, beforeInit: !INIT_STARTS.test(boot), bootAt };
  }
}

/** The harness may boot once more after this death: a kernel that died under TCG before init
 * (the sid kernel's live code patching races under multi-threaded TCG; docs/testing.md), never
 * a death after init started, never under KVM, never a stall. */
export function harnessMayRetry(death: Death, kvm: boolean): boolean {
  return !kvm && death.beforeInit && death.kind !== 'stall';
}
