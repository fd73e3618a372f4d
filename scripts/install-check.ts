// The nightly's install gate: install a built ISO with d-i onto a blank disk in the Vultr-like
// lab (scripts/lab/vultr-lab.ts, with a NAT uplink for Debian's mirror), let it reboot with the
// ISO still attached (its default entry must boot the new system), then run the gate's checks
// (scripts/lab/install-gate.ts, which the lab test runs on its sid disk too). Install minutes and figures go to
// $GITHUB_STEP_SUMMARY when set. Needs root (namespaces), KVM to be quick, and a full Debian
// mirror: where the installer cannot fetch a component it stops with one line naming it.
//   npm run install-check -- [--logs DIR] [--firmware bios|uefi] [--admin NAME] ISO   (--help)
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, Option } from '@commander-js/extra-typings';
import { execa } from 'execa';
import * as checks from './lab/installed-checks.js';
import { gateRows, gateSteps, runGate } from './lab/install-gate.js';
import { labKey } from './lab/sid-disk.js';
import { VultrLab, type LabVm } from './lab/vultr-lab.js';
import { vultrMetadata } from './lab/vultr-metadata.js';
import { INSTALL_DONE, installerStop } from './lab/installer-progress.js';
import { MARKER } from './preseed-boot.js';
import { parseScriptArgs, scriptCommand } from './script-cli.js';

async function waitForInstall(vm: LabVm, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const serial = await vm.serial();
    if (serial.includes(INSTALL_DONE)) return;
    const stop = installerStop(serial);
    if (stop) throw new checks.CheckFailed(`${stop}; a full Debian mirror is needed (the nightly has one)`);
    if (vm.died) throw new checks.CheckFailed(vm.died.split('\n')[0]!);
    if (!vm.running) throw new checks.CheckFailed('QEMU stopped before the install finished (see the serial log)');
    if (Date.now() > deadline) throw new checks.CheckFailed(`the install did not finish within ${timeoutMs / 60_000} minutes (see the serial log)`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function summary(lines: string[]): Promise<void> {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (file) await appendFile(file, `${lines.join('\n')}\n`);
}

const args = parseScriptArgs(
  scriptCommand('install-check', 'Install a built ISO with d-i onto a blank disk in the Vultr-like lab, boot the installed system with the ISO still attached, and check it.')
    .argument('<iso>', 'the built ISO')
    .option('--logs <dir>', 'keep the serial log in DIR')
    .addOption(new Option('--firmware <firmware>', 'boot firmware').choices(['bios', 'uefi'] as const).default('bios' as const))
    .option('--admin <name>', "the config's admin.username, to log in as", (name) => {
      // It becomes ssh's USER@HOST: a user name, never an option.
      if (!/^[a-z_][a-z0-9_-]*$/.test(name)) throw new InvalidArgumentError("not a user name (lower-case letters, digits, _ and -); pass the config's admin.username");
      return name;
    }, 'debian'),
);
const [iso] = args.processedArgs;
const values = args.opts();

async function main(): Promise<number> {
  const firmware = values.firmware;
  if (!existsSync(iso)) {
    console.error(`install-check: ${iso} does not exist; pass the path of a built ISO`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    console.error('install-check: needs root for the lab\'s network namespace; run it with sudo');
    return 2;
  }

  // Ctrl-C or a cancelled job: the VM is stopped, and the one clean-up below keeps the serial
  // log and removes what the lab added to this machine (namespace, NAT, forwarding).
  let cancelled: string | undefined;
  let vm: LabVm | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cancelled = signal;
      console.error(`install-check: ${signal}; stopping the VM and tearing the lab down`);
      void vm?.kill();
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'vsi-install-'));
  const instanceId = randomUUID();
  let lab: VultrLab | undefined;
  try {
    lab = await VultrLab.up(dir, { internet: true });
    if (cancelled) return 130;
    const key = await labKey(join(dir, 'keys'), 'metadata');
    await lab.setMetadata(vultrMetadata({ instanceId, hostname: 'install-check', publicKeys: [(await readFile(`${key}.pub`, 'utf8')).trim()] }));
    const blank = join(dir, 'blank.img');
    await execa('truncate', ['-s', '12G', blank]);
    vm = await lab.boot({ name: 'vm', disk: blank, cdrom: iso, firmware, instanceId, cpus: 2, memoryMiB: 2048, reboots: true });
    // 10 + 90 + 20 minutes: the nightly job's 150 leave room for the build before and the logs after.
    const started = await vm.waitForSerial(new RegExp(MARKER), 10 * 60_000);
    console.error('install-check: preseed loaded; installing');
    await waitForInstall(vm, 90 * 60_000);
    const minutes = (Date.now() - started) / 60_000;
    console.error(`install-check: installed in ${minutes.toFixed(1)} min; booting the installed system with the ISO still attached`);
    await vm.waitForSsh(key, values.admin, 20 * 60_000);

    const target: checks.Target = { lab, vm, admin: values.admin, key, expectedPrefix: '' };
    const results = await runGate(await gateSteps(target, instanceId), (line) => console.error(line));
    await summary([`### Install gate (${firmware})`, '', `Installed in **${minutes.toFixed(1)} min** (preseed loaded → install complete).`, '', '| | check | seen |', '|---|---|---|', ...gateRows(results)]);
    return results.every((r) => r.ok) ? 0 : 1;
  } catch (error) {
    if (cancelled) {
      await summary([`### Install gate (${firmware})`, '', `cancelled (${cancelled})`]);
      return 130;
    }
    const message = `install-check: ${(error as Error).message.split('\n')[0]}`;
    console.error(message);
    await summary([`### Install gate (${firmware})`, '', `❌ ${message}`]);
    return 1;
  } finally {
    if (values.logs && vm) {
      await mkdir(values.logs, { recursive: true });
      await copyFile(vm.serialPath, join(values.logs, `install-check-${firmware}.serial.log`)).catch(() => undefined);
    }
    await lab?.down();
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
