// Boots an ISO in QEMU (TCG unless VSI_QEMU_KVM=1 and /dev/kvm) with no network, and watches
// the serial console; keys are typed only when asked for (to pick a menu entry the way a
// person would). A guest that dies (an Oops, a panic, a console gone quiet) ends the boot at
// once with one line saying why (scripts/qemu-watch.ts). Used by the tests, the bench and the
// nightly.
import { execa, type ResultPromise } from 'execa';
import { copyFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ConsoleWatch, consoleTail, describeDeath, harnessMayRetry, PANIC_REBOOTS } from './qemu-watch.js';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface BootOptions {
  firmware: 'bios' | 'uefi';
  workDir: string;
  /** Raw disk image attached as a virtio disk. */
  disk?: string;
  /** Boot this kernel (and initrd) directly (the ISO stays attached as a CD); `panic=-1` is added. */
  direct?: { kernel: string; initrd?: string; append: string };
  /** Stop when this appears in the serial log (or when QEMU exits, e.g. on power-off). */
  until: RegExp;
  timeoutMs: number;
  /** Once the serial log first matches `when`, type these keys (QEMU's sendkey names, e.g. "down", "ret"). */
  keys?: { when: RegExp; send: string[] }[];
  /** Let the guest reboot (QEMU stays up and boots again, from the CD first) instead of stopping. */
  reboots?: boolean;
  /** Note when each of these first appears on the console (BootResult.markMs; for the bench). */
  marks?: RegExp[];
}

export interface BootResult {
  /** The console of the last QEMU started (a harness retry starts a second one). */
  serial: string;
  /** Where the serial log was written (inside workDir). */
  serialPath: string;
  matched: boolean;
  exited: boolean;
  ms: number;
  /** Milliseconds from start to each of BootOptions.marks (undefined: never seen), to ±0.25 s. */
  markMs: (number | undefined)[];
  /** Why the first boot died, when the harness booted once more (then `serial` is the second boot's). */
  retried?: string;
}

export function kvmUsable(): boolean {
  return process.env.VSI_QEMU_KVM === '1' && existsSync('/dev/kvm');
}

/** The accelerator arguments: KVM where it works, else TCG on one thread per vCPU. */
export function accelArgs(kvm: boolean): string[] {
  return kvm ? ['-enable-kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
}

/** The serial console appended to PATH (a second QEMU after a harness retry keeps the first one's lines). */
export function serialArgs(path: string): string[] {
  return ['-chardev', `null,id=serial0,logfile=${path},logappend=on`, '-serial', 'chardev:serial0'];
}

/** A guest that died under the harness: the message's first line says what, where and when. */
export class GuestDied extends Error {
  override name = 'GuestDied';
  constructor(
    message: string,
    /** Its serial log (both boots, when the harness booted it once more). */
    readonly serialPath: string,
  ) {
    super(message);
  }
}

export async function bootIso(iso: string, options: BootOptions): Promise<BootResult> {
  const serialPath = join(options.workDir, `serial-${options.firmware}.log`);
  const monitor = join(options.workDir, `monitor-${options.firmware}.sock`);
  const kvm = kvmUsable();
  const args = [
    '-machine', 'q35',
    ...accelArgs(kvm),
    '-m', '1024', '-smp', '1',
    '-display', 'none', ...serialArgs(serialPath),
    '-monitor', options.keys?.length ? `unix:${monitor},server,nowait` : 'none',
    ...(options.reboots ? [] : ['-no-reboot']),
    '-nic', 'none',
    '-drive', `file=${iso},media=cdrom,if=ide,readonly=on`,
    '-boot', 'order=dc',
  ];
  if (options.disk) args.push('-drive', `file=${options.disk},format=raw,if=virtio`);
  if (options.direct) {
    args.push('-kernel', options.direct.kernel, '-append', `${options.direct.append} ${PANIC_REBOOTS}`);
    if (options.direct.initrd) args.push('-initrd', options.direct.initrd);
  }
  if (options.firmware === 'uefi') {
    const vars = join(options.workDir, 'OVMF_VARS.fd');
    await copyFile(OVMF_VARS, vars);
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
  }
  await writeFile(serialPath, '');
  let started = Date.now();
  let qemu: ResultPromise;
  let exited = false;
  let watch: ConsoleWatch;
  const start = async () => {
    watch = await ConsoleWatch.from(serialPath);
    exited = false;
    qemu = execa('qemu-system-x86_64', args, { reject: false });
    void qemu.then(() => {
      exited = true;
    });
  };
  await start();
  let serial = '';
  let matched = false;
  let retried: string | undefined;
  const pending = [...(options.keys ?? [])];
  const marks = options.marks ?? [];
  const markMs: (number | undefined)[] = marks.map(() => undefined);
  while (Date.now() - started < options.timeoutMs) {
    await new Promise((r) => setTimeout(r, pending.length || markMs.includes(undefined) ? 250 : 1000));
    const wasExited = exited;
    serial = await watch!.text();
    marks.forEach((m, i) => (markMs[i] ??= m.test(serial) ? Date.now() - started : undefined));
    while (pending[0] && pending[0].when.test(serial)) await sendKeys(monitor, pending.shift()!.send);
    if (options.until.test(serial)) {
      matched = true;
      break;
    }
    const death = await watch!.check();
    if (death) {
      const line = describeDeath(`the guest (${options.firmware})`, death, watch!.msSinceStart);
      qemu!.kill('SIGKILL');
      await qemu!;
      if (!retried && harnessMayRetry(death, kvm)) {
        retried = line;
        console.error(`${line}; booting it once more (the harness's one retry under TCG)`);
        // The boot starts over: keys, marks and the clock too (the bench's figures are per boot).
        pending.splice(0, pending.length, ...(options.keys ?? []));
        markMs.fill(undefined);
        started = Date.now();
        await start();
        continue;
      }
      const before = retried ? ` (its first boot had died too: ${retried})` : '';
      throw new GuestDied(`${line}${before}; serial log ${serialPath}, last lines:\n${consoleTail(await watch!.text())}`, serialPath);
    }
    if (wasExited) break;
  }
  const exitedOnItsOwn = exited;
  const ms = Date.now() - started;
  if (!exited) {
    qemu!.kill('SIGKILL');
    await qemu!;
  }
  serial = await watch!.text().catch(() => serial);
  return { serial, serialPath, matched, exited: exitedOnItsOwn, ms, markMs, retried };
}

/** Types keys into the guest through QEMU's human monitor, a short pause after each. */
async function sendKeys(socketPath: string, keys: string[]): Promise<void> {
  const socket = connect(socketPath);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  for (const key of keys) {
    socket.write(`sendkey ${key}\n`);
    await new Promise((r) => setTimeout(r, 300));
  }
  socket.end();
}
