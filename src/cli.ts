#!/usr/bin/env node
// Entry point: parse arguments, run one command's pipeline, set the exit code
// (0 ok, 2 bad input, 1 anything else, 130 cancelled). Errors are one sentence; stack traces
// only with --debug.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { build } from './commands/build.js';
import { exitCodeOf, messageOf } from './pipeline/errors.js';
import { ConsoleReporter, type Reporter } from './pipeline/reporter.js';
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

export function makeReporter(): Reporter {
  return new ConsoleReporter();
}

async function runCommand(opts: Common, body: (reporter: Reporter, signal: AbortSignal) => Promise<unknown>): Promise<void> {
  const reporter = makeReporter();
  const { signal, dispose } = abortOnSignals();
  try {
    const result = await body(reporter, signal);
    printResult(result, opts.json);
  } catch (error) {
    process.exitCode = exitCodeOf(error);
    process.stderr.write(`vultr-sid-iso: ${messageOf(error)}\n`);
    if (opts.debug && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
  } finally {
    dispose();
  }
}

export function createProgram(): Command {
  const program = new Command('vultr-sid-iso')
    .description('Build a self-installing Debian unstable ISO for Vultr VMs, publish it, and create VMs from it.')
    .version(TOOL_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('build')
    .description('Render the config and repack the base ISO into iso/out/<name>.iso with its manifest <name>.json.')
    .option('--config <file>', 'config file', 'iso.config.yaml')
    .option('--base-iso <path|url>', 'base image (default: base.url from the config)')
    .option('--out-dir <dir>', 'output directory', 'iso/out')
    .option('--cache-dir <dir>', 'download cache', 'iso/cache')
    .option('--render-only <dir>', 'only write the rendered files (preseed.cfg, user-data, meta-data, installer/, rootfs/) into DIR')
    .option('--offline', 'use only the cache; never download', false)
    .option('--require-verified', 'refuse a base image without a verified signature', false)
    .option('--json', 'print the manifest as JSON on stdout (logs stay on stderr)')
    .option('--debug', 'print stack traces')
    .exitOverride()
    .action(async (opts: Common & Record<string, string | boolean | undefined>) => {
      await runCommand(opts, async (reporter, signal) => {
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
