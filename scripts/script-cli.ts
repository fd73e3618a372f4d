// The command line of a script in scripts/: commander, as the CLI uses, so `--help` prints
// the same way (test/docs/flags.test.ts reads it), and a bad argument is exit 2 with one line
// naming it, before the script does anything.
import { Command, CommanderError } from '@commander-js/extra-typings';

export function scriptCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`${name}: ${text.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').replace(/\.$/, '')}; see ${name} --help\n`),
    });
}

/** Parses the process's arguments: --help exits 0 and a bad argument 2, both right here. */
export function parseScriptArgs<C extends { parse(argv?: readonly string[]): unknown }>(command: C, argv = process.argv): C {
  try {
    command.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    throw error;
  }
  return command;
}
