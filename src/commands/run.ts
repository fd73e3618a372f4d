// What every command shares: the common options, the settings read from the environment, a
// reporter (plain or GitHub Actions), cancellation on Ctrl-C (a second one names what is left
// and exits), the --json result on stdout, and the Actions job summary. Nothing masked (keys,
// a presigned URL) reaches the result, the error or a trace. Errors go on to the entry, which
// prints them and sets the exit code.
import { InvalidArgumentError, type Command, type OptionValues } from '@commander-js/extra-typings';
import { readSettings, type Settings } from '../config/settings.js';
import { ConsoleReporter, type Reporter } from '../pipeline/reporter.js';
import type { RunSummary } from '../pipeline/actions-reporter.js';
import { abortOnSignals } from '../pipeline/runner.js';
import { CancelledError, UserInputError } from '../pipeline/errors.js';
import { Leftovers } from '../pipeline/leftovers.js';
import { Trace } from '../systems/vultr-trace.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** What a command's body gets. */
export interface RunContext {
  reporter: Reporter;
  signal: AbortSignal;
  settings: Settings;
  /** What the command has made and not removed yet (named if it fails or is cut short). */
  leftovers: Leftovers;
}

/** A command's rows and outputs for the Actions job summary, from its result. */
export interface Summary<R> {
  command: string;
  describe(result: R): Pick<RunSummary, 'rows' | 'outputs'>;
}

/** --config, --json and --debug, which every command has. */
export function commonOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(command: Command<Args, Opts, Globals>, json: string) {
  return command
    .option('--config <file>', 'config file', 'iso.config.yaml')
    .option('--json', json)
    .option('--debug', 'print stack traces');
}

/** A positive number option (seconds, counts); anything else is a parse error (exit 2). */
export function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${value}".`);
    return n;
  };
}

/** An https:// URL option; anything else is a parse error (exit 2). */
export function httpsUrl(name: string) {
  return (value: string): string => {
    if (!URL.canParse(value) || new URL(value).protocol !== 'https:') throw new InvalidArgumentError(`${name} must be an https:// URL, got "${value}".`);
    return value;
  };
}

/** A whole-number option within the bounds the config allows for the same setting. */
export function wholeNumber(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got "${value}".`);
    return n;
  };
}

/** --trace FILE, started afresh; nothing the reporter masks (keys, a presigned URL) reaches it. */
export function openTrace(path: string | undefined, reporter: Reporter): Trace | undefined {
  if (path === undefined) return undefined;
  try {
    return new Trace(path, (text) => reporter.redact(text));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EISDIR' ? 'is a directory, not a file' : code === 'ENOENT' || code === 'ENOTDIR' ? 'is in a directory that does not exist' : code === 'EACCES' || code === 'EPERM' ? 'cannot be written by this user (permission denied)' : `cannot be written (${code})`;
    throw new UserInputError(`--trace ${path} ${why}; pass the path of a file to write in a directory you can write to, such as run.trace`, { cause: error });
  }
}

async function makeReporter(settings: Settings): Promise<Reporter & { finish?: (s: RunSummary | undefined, e: Error | undefined) => Promise<void> }> {
  const secrets = Object.values(settings.secrets);
  if (settings.actions) {
    // @actions/core loads only in Actions.
    const { ActionsReporter } = await import('../pipeline/actions-reporter.js');
    return new ActionsReporter(secrets, settings.actions);
  }
  const reporter = new ConsoleReporter({ terminal: settings.terminal });
  for (const secret of secrets) reporter.mask(secret);
  return reporter;
}

/** Runs a command's body; prints its result with --json; rethrows its error for the entry. */
export async function runAction<R>(env: Env, opts: { json?: boolean }, body: (run: RunContext) => Promise<R>, summary?: Summary<R>): Promise<void> {
  const settings = readSettings(env);
  const reporter = await makeReporter(settings);
  const leftovers = new Leftovers();
  // A second Ctrl-C stops the cleanup at once: what is left is the last thing said.
  const lastWords = (sig: NodeJS.Signals) => {
    const left = leftovers.list;
    process.stderr.write(
      reporter.redact(`vultr-sid-iso: cancelled again by ${sig} before the cleanup finished; ${left.length ? left.join('; ') : 'nothing this run made is left in the Vultr account'}\n`).replace(/^::/gm, ' ::'),
    );
  };
  const { signal, dispose } = abortOnSignals(lastWords);
  let result: { value: R } | undefined;
  let failure: Error | undefined;
  try {
    result = { value: await body({ reporter, signal, settings, leftovers }) };
    if (opts.json) process.stdout.write(`${reporter.redact(JSON.stringify(result.value, null, 2))}\n`);
  } catch (error) {
    // A command without a pipeline of its own (the lists, delete, detach) fails with whatever
    // the aborted call threw ("The operation was aborted", exit 1): a Ctrl-C is a cancel, 130.
    const cancelled = signal.aborted && !(error instanceof CancelledError) && !(error instanceof UserInputError);
    failure = cancelled ? new CancelledError(String(signal.reason), leftovers.list) : error instanceof Error ? error : new Error(String(error));
    // The entry prints the message (and the stack with --debug): a masked value must not be in either.
    failure.message = reporter.redact(failure.message);
    if (failure.stack) failure.stack = reporter.redact(failure.stack);
  } finally {
    dispose();
  }
  if (reporter.finish) {
    // A failed command has no result: its summary is the heading and the error.
    const described = result ? summary?.describe(result.value) : { rows: [], outputs: {} };
    await reporter.finish(summary && described ? { command: summary.command, ...described } : undefined, failure);
  }
  if (failure) throw failure;
}
