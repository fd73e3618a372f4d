// The nightly's install gate: install a built ISO with d-i onto a blank disk in the Vultr-like
// lab (scripts/lab/vultr-lab.ts, with a NAT uplink for Debian's mirror), let it reboot with the
// ISO still attached (its default entry must boot the new system), then run the same checks
// as the lab test (scripts/lab/installed-checks.ts). Install minutes and figures go to
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
import type { SubnetChoice } from '../src/net/ipv6.js';
import * as checks from './lab/installed-checks.js';
import * as reach from './lab/reachability.js';
import { labKey } from './lab/sid-disk.js';
import { VultrLab, type LabVm } from './lab/vultr-lab.js';
import { labContainerPrefix, vultrMetadata } from './lab/vultr-metadata.js';
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
  const results: string[] = [];
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
    const config = JSON.parse(await checks.sudo(target, 'cat /etc/vultr-sid-iso/ipv6.json')) as { docker: { subnet: SubnetChoice; exposure: string; network: string } };
    target.expectedPrefix = labContainerPrefix(config.docker.subnet);
    const published = config.docker.exposure === 'published';
    const steps: [string, () => Promise<string>][] = [
      ['install: every part done (vultr-sid-status)', () => checks.installComplete(target)],
      ["network: the installer's configuration is one vultr-sid-ipv6 supports", () => checks.networkConfigSupported(target)],
      ['consoles: the screen is the main console, the serial line a console too', () => checks.consolesOnScreen(target)],
      ['cloud-init: Vultr datasource, no errors, vendor-data ignored', () => checks.cloudInitClean(target, instanceId)],
      ['logins: metadata key as the admin; no password, no root', () => checks.loginsAsExpected(target)],
      ['IPv6: the /80, ndppd, accept_ra=2 with an RA default route', () => checks.ipv6Ready(target, 'metadata')],
      ['a container: ping and published port from outside; unpublished port as configured', async () => {
        await checks.importBusybox(target);
        const address = await checks.runContainer(target, 'web', published ? config.docker.network : undefined);
        return `${await checks.exposure(target, address, published ? 'closed' : 'open')}; ${await checks.outgoingFromOwnAddress(target, 'web', address)}`;
      }],
      ['containers cannot reach the metadata service', () => checks.metadataGuarded(target, 'web')],
      ['every container: 10 started at once each answer the router within 5 s; the kernel answers its unicast probes', async () => {
        const names = Array.from({ length: 10 }, (_, i) => `many${i + 1}`);
        const reached = await reach.startAndReach(target, names, 'run', { network: published ? config.docker.network : 'bridge', giveUpSeconds: 10 });
        const line = reach.describeBatch('10 at once', reached, 5);
        if (!reached.every((r) => reach.answeredWithin(r, 5))) throw new checks.CheckFailed(line);
        const nud = await reach.pingUnderNud(target, reached.slice(0, 3).map((r) => r.address), 30);
        if (nud.lost > 0 || nud.tally.unicast === 0 || nud.tally.unicastAnswered < nud.tally.unicast) throw new checks.CheckFailed(`under the router's neighbour checks: ${JSON.stringify(nud)}`);
        return `${line}; ${await reach.proxyEntriesInStep(target, 60_000)}; 30 s under NUD: 0 of ${nud.sent} lost, unicast probes ${nud.tally.unicastAnswered}/${nud.tally.unicast}`;
      }],
      ['ndppd sandboxed; IPv6 forwarded only to and from Docker\'s bridges', async () => `${await checks.ndppdSandboxed(target)}; ${await checks.forwardingOnlyDocker(target)}`],
    ];
    let failed = 0;
    for (const [name, run] of steps) {
      try {
        const detail = await run();
        results.push(`| ✅ | ${name} | ${detail} |`);
        console.error(`PASS ${name}: ${detail}`);
      } catch (error) {
        failed++;
        results.push(`| ❌ | ${name} | ${(error as Error).message.split('\n')[0]} |`);
        console.error(`FAIL ${name}: ${(error as Error).message}`);
      }
    }
    await summary([`### Install gate (${firmware})`, '', `Installed in **${minutes.toFixed(1)} min** (preseed loaded → install complete).`, '', '| | check | seen |', '|---|---|---|', ...results]);
    return failed ? 1 : 0;
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
