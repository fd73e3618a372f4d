// The one set of retry rules for every HTTP client here (Vultr's API, Debian mirrors, the
// --url check): which answers are worth another try, how long to wait (the server's
// Retry-After, else jittered exponential backoff), and when to give up (a number of
// attempts, a deadline, the caller's abort signal).
import { setTimeout as delay } from 'node:timers/promises';
import { OperationError } from '../pipeline/errors.js';

/** The longest a server's Retry-After is obeyed for, unless the policy's maxMs says less. */
export const MAX_RETRY_AFTER_MS = 60_000;

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** The first wait; it doubles with each attempt, capped at maxMs, then jittered to 50–100 %. */
  baseMs: number;
  /** The longest wait, a Retry-After's included (default MAX_RETRY_AFTER_MS for those). */
  maxMs?: number;
  /** Never wait past this long after the first attempt started. */
  deadlineMs?: number;
  signal: AbortSignal;
  /** Told before each wait (for a log line). */
  onRetry?: (problem: unknown, waitMs: number, attempt: number) => void;
}

/** Thrown by an attempt that may be made again: `problem` is what the caller sees if none is left. */
export class Retryable extends Error {
  constructor(
    readonly problem: unknown,
    /** The server's own wish (Retry-After), which beats the backoff. */
    readonly afterMs?: number,
  ) {
    super(problem instanceof Error ? problem.message : String(problem));
    this.name = 'Retryable';
  }
}

export function backoffMs(attempt: number, policy: Pick<RetryPolicy, 'baseMs' | 'maxMs'>): number {
  return Math.min(policy.baseMs * 2 ** attempt, policy.maxMs ?? Number.POSITIVE_INFINITY) * (0.5 + Math.random() / 2);
}

/** Runs attempt(0), attempt(1), … until one returns, throws something not Retryable, or the policy is spent. */
export async function retrying<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const started = Date.now();
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!(error instanceof Retryable)) throw error;
      // A server may ask for an hour: it gets at most maxMs, then another try.
      const wait = error.afterMs === undefined ? backoffMs(n, policy) : Math.min(error.afterMs, policy.maxMs ?? MAX_RETRY_AFTER_MS);
      const pastDeadline = policy.deadlineMs !== undefined && Date.now() + wait - started > policy.deadlineMs;
      if (n >= policy.retries || pastDeadline || policy.signal.aborted) throw error.problem;
      policy.onRetry?.(error.problem, wait, n + 1);
      await delay(wait, undefined, { signal: policy.signal });
    }
  }
}

/**
 * The signal for one request: it fires when `parent` does or after `timeoutMs` (a
 * TimeoutError). Not AbortSignal.any([parent, AbortSignal.timeout(ms)]): on Node 20 the
 * timeout signal is held only weakly there, and once a garbage collection takes it the
 * request never times out (test/systems/request-signal.test.ts shows it). Here the timer
 * holds its controller; clear() when the request and its body are done.
 */
export function requestSignal(parent: AbortSignal, timeoutMs: number): { signal: AbortSignal; clear: () => void } {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new DOMException(`no answer within ${timeoutMs / 1000} s`, 'TimeoutError')), timeoutMs);
  timer.unref();
  return { signal: AbortSignal.any([parent, timeout.signal]), clear: () => clearTimeout(timer) };
}

/** Answers that say "not now" rather than "no": busy, overloaded or briefly broken. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501);
}

/**
 * Whether a request that failed this way may simply be sent again. A request that changes
 * something (POST, PATCH) only when the server refused it outright (429): after a 5xx or a
 * timeout it may have done its work, and the caller must look before asking again
 * (see createOnce). `status` is undefined for a network error or a timeout.
 */
export function mayResend(method: string, status: number | undefined): boolean {
  if (method === 'POST' || method === 'PATCH') return status === 429;
  return status === undefined || retryableStatus(status);
}

/** Retry-After (seconds or an HTTP date) in ms, when the response carries one. */
export function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The request may or may not have taken effect (a 5xx or a timeout after it was sent). */
export class UncertainError extends OperationError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UncertainError';
  }
}

/** How long to keep looking for what a request may have made, and how often: lists lag behind creates. */
export interface Settle {
  settleMs: number;
  intervalMs: number;
  signal?: AbortSignal;
}

/** Looks with `find` until it finds something or `settleMs` has passed (at least once). */
export async function settle<T>(find: () => Promise<T | undefined>, { settleMs, intervalMs, signal }: Settle): Promise<T | undefined> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const found = await find();
    if (found !== undefined || Date.now() >= deadline) return found;
    await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())), undefined, { signal });
  }
}

/**
 * A create (or another request that changes something) that is safe to repeat: when `create`
 * throws UncertainError, `findCreated` looks for its effect for up to `settleMs` (a list may
 * not show what was just made) before it is asked again, so a retry never makes a duplicate
 * unless a list lags longer than that. After the last attempt the UncertainError is thrown:
 * the caller still has what it needs to look (see PendingCreate in vultr-api.ts).
 */
export async function createOnce<T>(
  create: () => Promise<T>,
  findCreated: () => Promise<T | undefined>,
  options: Partial<Settle> & { attempts?: number; onUncertain?: (error: UncertainError) => void } = {},
): Promise<T> {
  const attempts = options.attempts ?? 3;
  for (let n = 1; ; n++) {
    try {
      return await create();
    } catch (error) {
      if (!(error instanceof UncertainError) || n >= attempts) throw error;
      options.onUncertain?.(error);
      const found = await settle(findCreated, { settleMs: options.settleMs ?? 0, intervalMs: options.intervalMs ?? 1000, signal: options.signal });
      if (found !== undefined) return found;
    }
  }
}
