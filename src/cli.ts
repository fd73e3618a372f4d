#!/usr/bin/env node
// Entry point: parse arguments, run one command's pipeline, set the exit code
// (0 ok, 2 bad input, 1 anything else, 130 cancelled). Errors are one sentence; stack traces
// only with --debug.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { exitCodeOf, messageOf } from './pipeline/errors.js';
import { ConsoleReporter, formatBytes, type Reporter } from './pipeline/reporter.js';
import type { RunSummary } from './pipeline/actions-reporter.js';
import type { Manifest } from './steps/build-state.js';
import type { PublishResult } from './commands/publish.js';
import type { VmResult } from './commands/vm.js';
import { abortOnSignals } from './pipeline/runner.js';
import { TOOL_VERSION } from './paths.js';

interface Common {
  json?: boolean;
  debug?: boolean;
}

export function positiveNumber(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${value}".`);
    return n;
  };
}

/** Optional tuning from the environment, in seconds (e.g. VULTR_SID_ISO_HTTP_TIMEOUT=30). */
function secondsFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number of seconds, got "${raw}".`);
  return n * 1000;
}

function printResult(result: unknown, json: boolean | undefined): void {
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

/** What a command puts in the Actions summary and outputs, from its result. */
interface Summarize {
  command: string;
  describe(result: unknown): Pick<RunSummary, 'rows' | 'outputs'>;
}

async function makeReporter(): Promise<Reporter & { finish?: (s: RunSummary | undefined, e: Error | undefined) => Promise<void> }> {
  if (process.env.GITHUB_ACTIONS === 'true') {
    const { ActionsReporter } = await import('./pipeline/actions-reporter.js');
    return new ActionsReporter(process.env);
  }
  return new ConsoleReporter();
}

async function runCommand(opts: Common, body: (reporter: Reporter, signal: AbortSignal) => Promise<unknown>, summarize?: Summarize): Promise<void> {
  const reporter = await makeReporter();
  const { signal, dispose } = abortOnSignals();
  let result: unknown;
  let failure: Error | undefined;
  try {
    result = await body(reporter, signal);
    printResult(result, opts.json);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    process.exitCode = exitCodeOf(error);
    process.stderr.write(`vultr-sid-iso: ${messageOf(error)}\n`);
    if (opts.debug && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
  } finally {
    dispose();
  }
  if (reporter.finish) {
    // A failed command has no result: its summary is the heading and the error.
    const described = result === undefined ? { rows: [], outputs: {} } : summarize?.describe(result);
    const summary = summarize && described ? { command: summarize.command, ...described } : undefined;
    await reporter.finish(summary, failure);
  }
}

const summarizeBuild: Summarize = {
  command: 'build',
  describe(r): Pick<RunSummary, 'rows' | 'outputs'> {
    const m = r as Manifest & { kind?: string; dir?: string };
    if (m.kind === 'render-only') return { rows: [['Rendered into', m.dir!]], outputs: {} };
    return {
      rows: [
        ['ISO', m.name],
        ['Size', formatBytes(m.iso.size)],
        ['sha256', m.iso.sha256],
        ['Base image', m.base.source],
        ['Base verified', m.base.verified ? 'yes (signed checksum)' : 'no (local file)'],
      ],
      outputs: { 'iso-path': m.iso.path, 'iso-sha256': m.iso.sha256, 'manifest-path': m.iso.path.replace(/\.iso$/, '.json') },
    };
  },
};

const summarizePublish: Summarize = {
  command: 'publish',
  describe(r): Pick<RunSummary, 'rows' | 'outputs'> {
    const p = r as PublishResult;
    return {
      rows: [
        ['ISO', p.filename],
        ['Vultr ISO id', p.isoId],
        ['Vultr status', `${p.status}${p.reused ? ' (already in the library: nothing uploaded)' : ''}`],
        ['Pruned ISOs', p.pruned.join(', ') || 'none'],
        ...(p.keptAttached.length ? ([['Kept (attached)', p.keptAttached.join(', ')]] as [string, string][]) : []),
      ],
      outputs: { 'vultr-iso-id': p.isoId },
    };
  },
};

const summarizeVm: Summarize = {
  command: 'vm create',
  describe(r): Pick<RunSummary, 'rows' | 'outputs'> {
    const v = r as VmResult;
    return {
      rows: [
        ['Instance', v.id],
        ['IPv4', v.mainIp],
        ['IPv6', v.v6MainIp ?? ''],
        ['IPv6 network', v.v6Network ? `${v.v6Network}/${v.v6NetworkSize}` : ''],
        ['Container /80', v.containerPrefix ?? ''],
      ],
      outputs: { 'vm-id': v.id },
    };
  },
};

/** Commander's Command with the options every subcommand shares. */
class Cli extends Command {
  override createCommand(name?: string): Cli {
    return new Cli(name);
  }

  configOption(): this {
    return this.option('--config <file>', 'config file', 'iso.config.yaml');
  }

  /** --json (what it prints), --debug, and parse errors thrown (exit 2) instead of exit 1. */
  common(json: string): this {
    return this.option('--json', json).option('--debug', 'print stack traces').exitOverride();
  }
}

export function createProgram(): Command {
  const program = new Cli('vultr-sid-iso')
    .description('Build a self-installing Debian unstable ISO for Vultr VMs, publish it, and create VMs from it.')
    .version(TOOL_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('build')
    .description('Render the config and repack the base ISO into iso/out/<name>.iso with its manifest <name>.json.')
    .configOption()
    .option('--base-iso <path|url>', 'base image (default: base.url from the config)')
    .option('--out-dir <dir>', 'output directory', 'iso/out')
    .option('--cache-dir <dir>', 'download cache', 'iso/cache')
    .option('--render-only <dir>', 'only write the rendered files (preseed.cfg, user-data, meta-data, installer/, rootfs/) into DIR')
    .option('--offline', 'use only the cache; never download', false)
    .option('--require-verified', 'refuse a base image without a verified signature', false)
    .common('print the manifest as JSON on stdout (logs stay on stderr)')
    .action(async (opts: Common & Record<string, string | boolean | undefined>) => {
      await runCommand(opts, async (reporter, signal) => {
        const { build } = await import('./commands/build.js');
        const result = await build(
          {
            configPath: String(opts.config),
            baseIso: opts.baseIso as string | undefined,
            outDir: String(opts.outDir),
            cacheDir: String(opts.cacheDir),
            renderOnly: opts.renderOnly as string | undefined,
            offline: Boolean(opts.offline),
            requireVerified: Boolean(opts.requireVerified),
            env: process.env,
            httpIdleTimeoutMs: secondsFromEnv('VULTR_SID_ISO_HTTP_TIMEOUT'),
            httpBackoffMs: secondsFromEnv('VULTR_SID_ISO_HTTP_BACKOFF'),
          },
          reporter,
          signal,
        );
        if (result.kind === 'render-only') {
          reporter.info(`wrote ${result.files.length} files into ${result.dir}`);
          return result;
        }
        reporter.info(result.upToDate ? `${result.manifest.iso.path} is up to date` : `wrote ${result.manifest.iso.path}`);
        return result.manifest;
      }, summarizeBuild);
    });
  program
    .command('publish')
    .description('Put the built ISO where Vultr can fetch it, register it in the account\'s ISO library, check its sha512, record it in the manifest and prune old ones.')
    .configOption()
    .option('--manifest <file>', 'manifest of the ISO to publish (default: the newest in --out-dir)')
    .option('--out-dir <dir>', 'where to look for the newest manifest', 'iso/out')
    .option('--url <url>', 'the ISO is already hosted at URL: skip the upload')
    .option('--keep-object', 'keep the uploaded object after Vultr has the ISO', false)
    .option('--keep <n>', 'our ISOs to keep in the library (default: publish.keep)', positiveNumber('--keep'))
    .option('--poll-interval <seconds>', 'seconds between status checks', positiveNumber('--poll-interval'), 10)
    .option('--timeout <seconds>', 'seconds to wait for Vultr to download the ISO', positiveNumber('--timeout'), 3600)
    .common('print the result as JSON on stdout (logs stay on stderr)')
    .action(async (opts: Common & Record<string, string | number | boolean | undefined>) => {
      await runCommand(opts, async (reporter, signal) => {
        // Commands load their modules on demand: the AWS SDK costs a build nothing.
        const { publish } = await import('./commands/publish.js');
        const result = await publish(
          {
            configPath: String(opts.config),
            manifestPath: opts.manifest as string | undefined,
            outDir: String(opts.outDir),
            url: opts.url as string | undefined,
            keepObject: Boolean(opts.keepObject),
            keep: opts.keep as number | undefined,
            pollIntervalMs: Number(opts.pollInterval) * 1000,
            timeoutMs: Number(opts.timeout) * 1000,
            env: process.env,
          },
          reporter,
          signal,
        );
        reporter.info(`${result.reused ? 'already published' : 'published'}: Vultr ISO ${result.isoId} (${result.filename})`);
        return result;
      }, summarizePublish);
    });

  const collect = (value: string, previous: string[]) => [...previous, value];
  const vm = program.command('vm').description('Vultr instances booted from our ISO.');
  vm.command('create')
    .description('Create a VM from the newest published ISO, wait for the unattended install, detach the ISO and boot it.')
    .configOption()
    .option('--iso <latest|id|filename>', 'which ISO', 'latest')
    .option('--region <id>', 'Vultr region (default: vm.region)')
    .option('--plan <id>', 'Vultr plan (default: vm.plan)')
    .option('--label <label>', 'instance label')
    .option('--hostname <name>', "host name, or an FQDN to set the domain too (default: the config's installer.hostname and domain)")
    .option('--ssh-key <id>', 'Vultr SSH key id, added to the admin user on first boot (repeatable)', collect, [])
    .option('--user-data <file>', "user-data for cloud-init on the VM, merged over the ISO's settings")
    .option('--no-wait', 'return right after creating the instance')
    .option('--poll-interval <seconds>', 'seconds between status checks', positiveNumber('--poll-interval'), 10)
    .option('--timeout <seconds>', 'seconds to wait for each phase', positiveNumber('--timeout'), 3600)
    .common('print { id, mainIp, v6MainIp, v6Network, v6NetworkSize, containerPrefix } on stdout')
    .action(async (opts: Common & Record<string, unknown>) => {
      await runCommand(opts, async (reporter, signal) => {
        const { createVm } = await import('./commands/vm.js');
        const result = await createVm(
          {
            configPath: String(opts.config),
            iso: String(opts.iso),
            region: opts.region as string | undefined,
            plan: opts.plan as string | undefined,
            label: opts.label as string | undefined,
            hostname: opts.hostname as string | undefined,
            sshKeys: opts.sshKey as string[],
            userDataFile: opts.userData as string | undefined,
            noWait: opts.wait === false,
            pollIntervalMs: Number(opts.pollInterval) * 1000,
            timeoutMs: Number(opts.timeout) * 1000,
            env: process.env,
          },
          reporter,
          signal,
        );
        reporter.info(`VM ${result.id}: ${result.mainIp}, IPv6 ${result.v6MainIp ?? '(none yet)'}, network ${result.v6Network ?? '?'}/${result.v6NetworkSize ?? '?'}, containers ${result.containerPrefix ?? '(unknown yet)'}`);
        return result;
      }, summarizeVm);
    });
  vm.command('delete')
    .description('Delete one of our VMs (e.g. a smoke-test VM); the ISO is detached first.')
    .argument('<id>', 'instance id')
    .configOption()
    .common('print JSON on stdout')
    .action(async (id: string, opts: Common & Record<string, unknown>) => {
      await runCommand(opts, async (reporter, signal) => {
        const { deleteOurVm } = await import('./commands/vm.js');
        await deleteOurVm(String(opts.config), id, process.env, reporter, signal);
        reporter.info(`deleted VM ${id}`);
        return { id, deleted: true };
      });
    });
  vm.command('list')
    .description('Our VMs (by the vm.tags tag).')
    .configOption()
    .common('print JSON on stdout')
    .action(async (opts: Common & Record<string, unknown>) => {
      await runCommand(opts, async (reporter, signal) => {
        const { listOurVms } = await import('./commands/vm.js');
        const vms = await listOurVms(String(opts.config), process.env, reporter, signal);
        if (!opts.json) for (const v of vms) process.stdout.write(`${v.id}  ${v.label}  ${v.region}  ${v.status}/${v.powerStatus}  ${v.mainIp}  ${v.v6MainIp ?? ''}\n`);
        return vms;
      });
    });
  program
    .command('iso')
    .description('Our ISOs in the Vultr library.')
    .command('list')
    .description('Our ISOs (file names starting with the config\'s name prefix), newest first.')
    .configOption()
    .common('print JSON on stdout')
    .action(async (opts: Common & Record<string, unknown>) => {
      await runCommand(opts, async (reporter, signal) => {
        const { listOurIsos } = await import('./commands/vm.js');
        const isos = await listOurIsos(String(opts.config), process.env, reporter, signal);
        if (!opts.json) for (const i of isos) process.stdout.write(`${i.id}  ${i.filename}  ${i.status}  ${i.date_created}\n`);
        return isos;
      });
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parse error is bad input (exit 2).
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = exitCodeOf(error);
    process.stderr.write(`vultr-sid-iso: ${messageOf(error)}\n`);
  }
}

await main(process.argv);
