// The command line: registers the commands, and turns what they throw into one line on
// stderr and an exit code (0 ok, 2 bad input, 1 anything else, 130 cancelled). Stack traces
// only with --debug. Started by bin.ts; importable, so tests can drive it.
import { Command, CommanderError, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { registerBuild } from './commands/build.js';
import { registerIso } from './commands/iso.js';
import { registerPublish } from './commands/publish.js';
import type { Env } from './commands/run.js';
import { registerVm } from './commands/vm.js';
import { CLI_COMMAND, TOOL_VERSION } from './paths.js';
import { exitCodeOf, messageOf, UserInputError } from './pipeline/errors.js';

/**
 * stderr, where no line may start with "::": in GitHub Actions that line would be obeyed as a
 * workflow command, and an error message can carry one after a line break (a file name, a
 * server's error text).
 */
function writeErr(text: string): void {
  process.stderr.write(text.replace(/^::/gm, ' ::'));
}

/** Every command of the program, itself included. */
function everyCommand(command: CommandUnknownOpts): CommandUnknownOpts[] {
  return [command, ...command.commands.flatMap(everyCommand)];
}

/** "build", "vm create", or "" for the program itself. */
function subcommandOf(command: CommandUnknownOpts): string {
  const names: string[] = [];
  for (let c: CommandUnknownOpts | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * commander's parse error (several lines: the error, a suggestion, a usage hint) as the one
 * sentence every error of this CLI is: what is wrong with which input, then the fix, which is
 * commander's suggestion when it has one, and the command's --help.
 */
export function parseErrorMessage(error: CommanderError, subcommand: string): string {
  const [first = '', ...rest] = error.message.replace(/^error: /, '').split('\n');
  const suggestion = rest.join(' ').replace(/^\((.*)\)$/, '$1').replace(/^Did you/, 'did you').trim();
  const who = subcommand || 'vultr-sid-iso';
  const help = `${CLI_COMMAND}${subcommand ? ` ${subcommand}` : ''} --help`;
  let what: string;
  let m: RegExpExecArray | null;
  if (error.code === 'commander.unknownOption' && (m = /^unknown option '(.*)'$/.exec(first))) what = `${who} has no option ${m[1]}`;
  else if (error.code === 'commander.unknownCommand' && (m = /^unknown command '(.*)'$/.exec(first))) what = `${m[1]} is not a command of ${who}`;
  else if (error.code === 'commander.optionMissingArgument' && (m = /^option '(\S+) (.*)' argument missing$/.exec(first))) what = `${m[1]} needs a value: ${m[1]} ${m[2]}`;
  else if (error.code === 'commander.missingArgument' && (m = /^missing required argument '(.*)'$/.exec(first))) what = `${who} needs its <${m[1]}> argument`;
  else if (error.code === 'commander.excessArguments' && (m = /Expected (\d+) arguments? but got (\d+)/.exec(first))) {
    what = `${who} takes ${m[1] === '0' ? 'no arguments' : `${m[1]} argument${m[1] === '1' ? '' : 's'}`}, but got ${m[2]} (options start with --)`;
  }
  // InvalidArgumentError: our own sentence (flag, value, what is expected) follows commander's.
  else if (error.code === 'commander.invalidArgument' && (m = /is invalid\. (.*)$/.exec(first))) what = m[1]!.replace(/\.$/, '');
  else what = first.replace(/\.$/, '');
  return `${what}${suggestion ? ` (${suggestion.replace(/\?$/, '?')})` : ''}; ${help} shows the usage`;
}

/** The npm scripts that are aliases of a command (package.json), by the name npm runs them as, and the command. */
const NPM_ALIASES: Record<string, string[]> = { 'build-iso': ['build'], 'publish-iso': ['publish'], 'create-vm': ['vm', 'create'] };

/**
 * `npm run build-iso --offline` (no `--`): npm takes the flag as a setting of its own, warns at
 * most (not at all under -s, or for one it knows, such as --offline and --json), and hands it to
 * the script only as npm_config_offline. The command would run without it: online instead of
 * offline, a full build with its download instead of --render-only. So a flag of the aliased
 * command found there is refused before anything runs. npm's environment is the only place
 * it can come from besides a user's npm config, which the message covers too.
 */
export function flagsNpmTook(program: CommandUnknownOpts, env: Env): string | undefined {
  const script = env.npm_lifecycle_event ?? '';
  if (!Object.hasOwn(NPM_ALIASES, script)) return undefined;
  const path = NPM_ALIASES[script]!;
  const command = path.reduce<CommandUnknownOpts | undefined>((c, name) => c?.commands.find((sub) => sub.name() === name), program);
  const taken = (command?.options ?? []).flatMap((o) => {
    const name = (o.long ?? '').replace(/^--(no-)?/, '');
    const value = name && name !== 'help' ? env[`npm_config_${name.replace(/-/g, '_')}`] : undefined;
    if (value === undefined) return [];
    // "--region ewr": npm took --region alone (true) and left ewr as an argument.
    const shown = !(o.required || o.optional) ? '' : value === 'true' || value === '' ? ` ${/[<[].*$/.exec(o.flags)?.[0] ?? 'VALUE'}` : ` ${value}`;
    return [{ flag: o.long!, example: `${o.long!}${shown}` }];
  });
  if (taken.length === 0) return undefined;
  return `${taken.map((t) => t.flag).join(', ')} went to npm, not to ${CLI_COMMAND} ${path.join(' ')} (npm run keeps the flags before -- as its own settings, npm_config_*); pass them after --, as in npm run ${script} -- ${taken.map((t) => t.example).join(' ')}`;
}

/**
 * Through `npm run build-iso --render-only DIR`, npm takes `--render-only` as its own setting
 * and hands the command only `DIR`: where a command got arguments it does not take from one
 * of its npm aliases, the fix is npm's `--`.
 */
function npmHint(error: CommanderError, env: Env): string {
  const script = env.npm_lifecycle_event;
  if (error.code !== 'commander.excessArguments' || !script || !Object.hasOwn(NPM_ALIASES, script)) return '';
  return `; through npm run, the command's flags go after --, as in npm run ${script} -- --flag VALUE`;
}

export function createProgram(env: Env): Command {
  const program = new Command('vultr-sid-iso')
    .description('Build a self-installing Debian unstable ISO for Vultr VMs, publish it, and create VMs from it.')
    .version(TOOL_VERSION)
    // Parse errors are thrown (and printed by main as one line, exit 2) instead of printed and
    // exited on; subcommands inherit both.
    .exitOverride()
    .configureOutput({ writeErr, outputError: () => undefined });
  registerBuild(program, env);
  registerPublish(program, env);
  registerVm(program, env);
  registerIso(program, env);
  for (const command of everyCommand(program)) {
    command.exitOverride((error) => {
      // Help and version (exit 0), and the help shown for a missing subcommand, pass through.
      if (error.exitCode === 0 || error.code === 'commander.help') throw error;
      throw new UserInputError(parseErrorMessage(error, subcommandOf(command)) + npmHint(error, env), { cause: error });
    });
  }
  return program;
}

/** Runs the command line and returns the exit code. */
export async function main(argv: string[], env: Env): Promise<number> {
  try {
    const program = createProgram(env);
    const npmTook = flagsNpmTook(program, env);
    if (npmTook) throw new UserInputError(npmTook);
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    // Help and version exit 0; help shown because a command was missing is bad input.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    writeErr(`vultr-sid-iso: ${messageOf(error)}\n`);
    if (argv.includes('--debug') && error instanceof Error) writeErr(`${error.stack ?? ''}\n`);
    return exitCodeOf(error);
  }
}
