// Boots an ISO in QEMU (TCG unless VSI_QEMU_KVM=1 and /dev/kvm) with no network, and watches
// the serial console; keys are typed only when asked for (to pick a menu entry the way a
// person would). Used by the tests, the bench and the nightly.
import { execa } from 'execa';
import { copyFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface BootOptions {
  firmware: 'bios' | 'uefi';
  workDir: string;
  /** Raw disk image attached as a virtio disk. */
  disk?: string;
  /** Boot this kernel and initrd directly (the ISO stays attached as a CD). */
  direct?: { kernel: string; initrd: string; append: string };
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
  serial: string;
  /** Where the serial log was written (inside workDir). */
  serialPath: string;
  matched: boolean;
  exited: boolean;
  ms: number;
  /** Milliseconds from start to each of BootOptions.marks (undefined: never seen), to ±0.25 s. */
  markMs: (number | undefined)[];
}

function kvmUsable(): boolean {
  return process.env.VSI_QEMU_KVM === '1' && existsSync('/dev/kvm');
}

export async function bootIso(iso: string, options: BootOptions): Promise<BootResult> {
  const serialPath = join(options.workDir, `serial-${options.firmware}.log`);
  const monitor = join(options.workDir, `monitor-${options.firmware}.sock`);
  const args = [
    '-machine', 'q35',
    ...(kvmUsable() ? ['-enable-kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max']),
    '-m', '1024', '-smp', '1',
    '-display', 'none', '-serial', `file:${serialPath}`,
    '-monitor', options.keys?.length ? `unix:${monitor},server,nowait` : 'none',
    ...(options.reboots ? [] : ['-no-reboot']),
    '-nic', 'none',
    '-drive', `file=${iso},media=cdrom,if=ide,readonly=on`,
    '-boot', 'order=dc',
  ];
  if (options.disk) args.push('-drive', `file=${options.disk},format=raw,if=virtio`);
  if (options.direct) args.push('-kernel', options.direct.kernel, '-initrd', options.direct.initrd, '-append', options.direct.append);
  if (options.firmware === 'uefi') {
    const vars = join(options.workDir, 'OVMF_VARS.fd');
    await copyFile(OVMF_VARS, vars);
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
  }
  const started = Date.now();
  const qemu = execa('qemu-system-x86_64', args, { reject: false });
  let exited = false;
  void qemu.then(() => {
    exited = true;
  });
  let serial = '';
  let matched = false;
  const pending = [...(options.keys ?? [])];
  const marks = options.marks ?? [];
  const markMs: (number | undefined)[] = marks.map(() => undefined);
  while (Date.now() - started < options.timeoutMs) {
    await new Promise((r) => setTimeout(r, pending.length || markMs.includes(undefined) ? 250 : 1000));
    serial = await readFile(serialPath, 'utf8').catch(() => '');
    marks.forEach((m, i) => (markMs[i] ??= m.test(serial) ? Date.now() - started : undefined));
    while (pending[0] && pending[0].when.test(serial)) await sendKeys(monitor, pending.shift()!.send);
    if (options.until.test(serial)) {
      matched = true;
      break;
    }
    if (exited) break;
  }
  const exitedOnItsOwn = exited;
  const ms = Date.now() - started;
  if (!exited) {
    qemu.kill('SIGKILL');
    await qemu;
  }
  serial = await readFile(serialPath, 'utf8').catch(() => serial);
  return { serial, serialPath, matched, exited: exitedOnItsOwn, ms, markMs };
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
