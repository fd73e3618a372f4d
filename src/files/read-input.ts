// Reading a file the user named (--config, --manifest, --user-data). The error says what is
// wrong with that path, in words (not only errno's code), and gives the fix for that case: a
// file that does not exist and a directory given for a file need another path, a file this
// user cannot read needs its permissions changed.
import { readFile } from 'node:fs/promises';
import { UserInputError } from '../pipeline/errors.js';

export interface InputFile {
  /** How the message names the input: "config file iso.config.yaml", "--user-data x.yaml". */
  what: string;
  /** The fix when the path names nothing: "pass --config FILE …". */
  missing: string;
  /** The fix when the path is a directory (default: `missing`'s); a function may look inside. */
  directory?: string | (() => string);
}

/** The file's bytes; any failure is bad input, one sentence naming the path and the fix. */
export async function readInputFile(path: string, input: InputFile): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new UserInputError(unreadable(path, (error as NodeJS.ErrnoException).code, input), { cause: error });
  }
}

/** "<what> is a directory, not a file; <fix>", and the like for each way a read fails. */
export function unreadable(path: string, code: string | undefined, { what, missing, directory = missing }: InputFile): string {
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return `${what} does not exist; ${missing}`;
    case 'EISDIR':
      return `${what} is a directory, not a file; ${typeof directory === 'function' ? directory() : directory}`;
    case 'EACCES':
    case 'EPERM':
      return `${what} cannot be read by this user (permission denied); make it readable (ls -l ${path} shows its owner and mode), or ${missing}`;
    default:
      return `${what} cannot be read (${code ?? 'unknown error'}); ${missing}`;
  }
}
