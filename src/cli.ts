// The command line: registers the commands, and turns what they throw into one line on
// stderr and an exit code (0 ok, 2 bad input, 1 anything else, 130 cancelled). Stack traces
// only with --debug. Started by bin.ts; importable, so tests can drive it.
import { Command, CommanderError } from '@commander-js/extra-typings';
import { registerBuild } from './commands/build.js';
import { registerIso } from './commands/iso.js';
import { registerPublish } from './commands/publish.js';
import type { Env } from './commands/run.js';
import { registerVm } from './commands/vm.js';
import { TOOL_VERSION } from './paths.js';
import { exitCodeOf, messageOf } from './pipeline/errors.js';

/**
 * stderr, where no line may start with "::": in GitHub Actions that line would be obeyed as a
 * workflow command, and an error message can carry one after a line break (a file name, a
 * server's error text).
 */
function writeErr(text: string): void {
  process.stderr.write(text.replace(/^::/gm, ' ::'));
}

export function createProgram(env: Env): Command {
  const program = new Command('vultr-sid-iso')
    .description('Build a self-installing Debian unstable ISO for Vultr VMs, publish it, and create VMs from it.')
    .version(TOOL_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    // Parse errors are thrown (and become exit 2) instead of exiting; subcommands inherit this.
    .exitOverride()
    .configureOutput({ writeErr });
  registerBuild(program, env);
  registerPublish(program, env);
  registerVm(program, env);
  registerIso(program, env);
  return program;
}

/** Runs the command line and returns the exit code. */
export async function main(argv: string[], env: Env): Promise<number> {
  try {
    await createProgram(env).parseAsync(argv);
    return 0;
  } catch (error) {
    // Help and version exit 0; every parse error is bad input.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    writeErr(`vultr-sid-iso: ${messageOf(error)}\n`);
    if (argv.includes('--debug') && error instanceof Error) writeErr(`${error.stack ?? ''}\n`);
    return exitCodeOf(error);
  }
}
