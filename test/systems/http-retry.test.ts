// The one set of retry rules: what is retried, how long it waits, when it gives up, and the
// create that is never made twice.
import { describe, expect, it } from 'vitest';
import { createOnce, mayResend, Retryable, retryAfterMs, retrying, UncertainError } from '../../src/systems/http-retry.js';

const signal = new AbortController().signal;

describe('retrying', () => {
  it('tries again only what is Retryable, up to the number of retries, and then throws the problem', async () => {
    let n = 0;
    await expect(retrying(async () => { n++; throw new Retryable(new Error(`busy ${n}`)); }, { retries: 2, baseMs: 1, signal })).rejects.toThrow('busy 3');
    expect(n).toBe(3);
    n = 0;
    await expect(retrying(async () => { n++; throw new Error('no'); }, { retries: 5, baseMs: 1, signal })).rejects.toThrow('no');
    expect(n).toBe(1);
  });

  it("waits what the server's Retry-After asks for, not the backoff", async () => {
    const waits: number[] = [];
    let n = 0;
    const value = await retrying(async () => (n++ < 1 ? Promise.reject(new Retryable(new Error('429'), 30)) : 'done'), { retries: 3, baseMs: 10_000, signal, onRetry: (_p, ms) => waits.push(ms) });
    expect(value).toBe('done');
    expect(waits).toEqual([30]);
  });

  it("caps a Retry-After that asks for an hour at the policy's longest wait (or a minute)", async () => {
    const waits: number[] = [];
    let n = 0;
    const attempt = async () => (n++ < 1 ? Promise.reject(new Retryable(new Error('429'), 3_600_000)) : 'done');
    expect(await retrying(attempt, { retries: 3, baseMs: 1, maxMs: 40, signal, onRetry: (_p, ms) => waits.push(ms) })).toBe('done');
    expect(waits).toEqual([40]);
    waits.length = 0;
    n = 0;
    const controller = new AbortController();
    const noCap = retrying(attempt, { retries: 3, baseMs: 1, signal: controller.signal, onRetry: (_p, ms) => (waits.push(ms), controller.abort()) });
    await expect(noCap).rejects.toThrow();
    expect(waits).toEqual([60_000]);
  });

  it('gives up at the deadline rather than wait past it', async () => {
    const started = Date.now();
    await expect(retrying(async () => { throw new Retryable(new Error('still busy')); }, { retries: 100, baseMs: 200, deadlineMs: 500, signal })).rejects.toThrow('still busy');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('stops waiting when aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled')), 50);
    await expect(retrying(async () => { throw new Retryable(new Error('busy')); }, { retries: 5, baseMs: 60_000, signal: controller.signal })).rejects.toThrow();
  });
});

describe('what may be sent again', () => {
  it('GET and DELETE on network errors, 408, 429 and 5xx but 501; POST only when refused with 429', () => {
    for (const s of [undefined, 408, 429, 500, 502, 503]) expect(mayResend('GET', s)).toBe(true);
    for (const s of [400, 401, 404, 501]) expect(mayResend('DELETE', s)).toBe(false);
    expect(mayResend('POST', 429)).toBe(true);
    for (const s of [undefined, 500, 503]) expect(mayResend('POST', s)).toBe(false);
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }))).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(Date.now() + 5000).toUTCString() }))).toBeGreaterThan(3000);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});

describe('createOnce', () => {
  it('after an unclear answer, takes what was made instead of making another', async () => {
    const made: string[] = [];
    const result = await createOnce(
      async () => {
        made.push('x');
        throw new UncertainError('HTTP 500');
      },
      async () => made[0],
    );
    expect(result).toBe('x');
    expect(made).toEqual(['x']);
  });

  it('asks again when nothing was made, and gives up after its attempts', async () => {
    let posts = 0;
    await expect(createOnce(async () => { posts++; throw new UncertainError('timed out'); }, async () => undefined, { attempts: 3 })).rejects.toThrow('timed out');
    expect(posts).toBe(3);
  });

  it('keeps looking for what was made for the settle window before it asks again (a list lags)', async () => {
    let posts = 0;
    let looks = 0;
    let firstLook: number | undefined;
    // The list shows the first create's result 150 ms after the first look (never at it).
    const result = await createOnce(
      async () => {
        posts++;
        throw new UncertainError('HTTP 502');
      },
      async () => {
        looks++;
        firstLook ??= Date.now();
        return Date.now() - firstLook >= 150 ? 'made' : undefined;
      },
      { settleMs: 2000, intervalMs: 20 },
    );
    expect(result).toBe('made');
    expect(posts).toBe(1);
    expect(looks).toBeGreaterThan(1);
  });
});
