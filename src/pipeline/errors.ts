// Typed errors. Every message is one sentence that names the input at fault and, where there
// is one, the fix; the CLI prints only the message unless --debug is given.

/** Exit code 2: the user's input (arguments, config, base ISO) is wrong. */
export class UserInputError extends Error {
  readonly exitCode = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserInputError';
  }
}

/** Exit code 1: something outside the user's input failed (a tool, the network, a service). */
export class OperationError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OperationError';
  }
}

/** A required system tool is missing: names the Debian package that provides it. */
export class ToolMissingError extends OperationError {
  constructor(tool: string, pkg: string, why = '') {
    super(`${tool} was not found${why}; install it with: sudo apt-get install ${pkg}`);
    this.name = 'ToolMissingError';
  }
}

/** The run was cancelled (Ctrl-C / SIGTERM). */
export class CancelledError extends OperationError {
  override readonly exitCode = 130;
  constructor(
    readonly signal = 'SIGINT',
    /** What the run made and did not remove, each with how to remove it (pipeline/leftovers.ts). */
    readonly left: string[] = [],
    /** Cleanup failed for something not in `left` (its warning says what). */
    readonly cleanupFailed = false,
  ) {
    const unnamed = 'some of what this run created could not be removed (see the warnings above)';
    super(
      left.length
        ? `cancelled by ${signal}; ${[...left, ...(cleanupFailed ? [unnamed] : [])].join('; ')}`
        : `cancelled by ${signal}; ${cleanupFailed ? unnamed : 'everything this run created was removed'}`,
    );
    this.name = 'CancelledError';
  }
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof UserInputError || error instanceof OperationError) return error.exitCode;
  return 1;
}

/** Message of any thrown value, for places that must not assume an Error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
