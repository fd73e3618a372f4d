// One polling loop for everything that waits on Vultr: logs each change, names the resource
// and what it waited for on timeout.
import { setTimeout as delay } from 'node:timers/promises';
import { OperationError } from '../pipeline/errors.js';
import type { Reporter } from '../pipeline/reporter.js';

export interface WaitOptions {
  intervalMs: number;
  timeoutMs: number;
  signal: AbortSignal;
  reporter: Reporter;
}

/** Calls check until it returns a value; check may throw to fail at once. */
export async function waitFor<T>(what: string, check: () => Promise<{ done: T } | { state: string }>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    options.signal.throwIfAborted();
    const r = await check();
    if ('done' in r) return r.done;
    if (r.state !== last) {
      options.reporter.info(`${what}: ${r.state}`);
      last = r.state;
    }
    if (Date.now() + options.intervalMs > deadline) {
      throw new OperationError(`timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${what} (last state: ${last || 'unknown'}); raise --timeout or check the Vultr console`);
    }
    await delay(options.intervalMs, undefined, { signal: options.signal });
  }
}
