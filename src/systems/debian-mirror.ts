// HTTP access to a Debian image mirror with Node's fetch: small files revalidated with
// ETag/Last-Modified (an unchanged image costs one small request), and large files streamed
// to disk with resume (Range + If-Range), redirects, an idle timeout and retries with backoff.
import { createWriteStream } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OperationError, UserInputError } from '../pipeline/errors.js';
import { retryableStatus, retryAfterMs, Retryable, retrying } from './http-retry.js';

export interface HttpOptions {
  signal: AbortSignal;
  /** Abort a request when no byte arrives for this long. */
  idleTimeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface Validators {
  url: string;
  etag?: string;
  lastModified?: string;
  total?: number;
}

/** A fetch whose signal also fires when no data arrives for idleMs; bump() on each chunk. */
function idleGuard(parent: AbortSignal, idleMs: number) {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const bump = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
  };
  bump();
  return { signal: AbortSignal.any([parent, controller.signal]), bump, done: () => clearTimeout(timer), stalled: () => controller.signal.aborted };
}

function statusError(url: string, status: number, what: string): Error {
  if (status === 404 || status === 410) {
    return new UserInputError(`${what} ${url} was not found (HTTP ${status}); check base.url or --base-iso`);
  }
  return new OperationError(`${what} ${url} answered HTTP ${status}`);
}

export interface SmallFile {
  data: Buffer;
  /** True when the server said 304: the cached copy is current. */
  notModified: boolean;
  validators: Validators;
}

/** GET a small file, revalidating a cached copy (cachedData + cachedValidators) when given. */
export async function fetchSmall(
  url: string,
  what: string,
  cached: { data: Buffer; validators: Validators } | undefined,
  options: HttpOptions,
): Promise<SmallFile> {
  const idleMs = options.idleTimeoutMs ?? 30_000;
  const headers: Record<string, string> = {};
  if (cached?.validators.url === url) {
    if (cached.validators.etag) headers['If-None-Match'] = cached.validators.etag;
    if (cached.validators.lastModified) headers['If-Modified-Since'] = cached.validators.lastModified;
  }
  const attempt = async (): Promise<SmallFile> => {
    const guard = idleGuard(options.signal, idleMs);
    try {
      const res = await fetch(url, { headers, signal: guard.signal, redirect: 'follow' });
      if (res.status === 304 && cached) {
        await res.body?.cancel();
        return { data: cached.data, notModified: true, validators: cached.validators };
      }
      if (!res.ok) {
        await res.body?.cancel();
        const failure = statusError(url, res.status, what);
        throw retryableStatus(res.status) ? new Retryable(failure, retryAfterMs(res.headers)) : failure;
      }
      const data = Buffer.from(await res.arrayBuffer());
      return {
        data,
        notModified: false,
        validators: { url, etag: res.headers.get('etag') ?? undefined, lastModified: res.headers.get('last-modified') ?? undefined },
      };
    } catch (error) {
      if (options.signal.aborted || error instanceof Retryable || error instanceof UserInputError || error instanceof OperationError) throw error;
      const why = guard.stalled() ? `no data for ${idleMs / 1000} s` : describeNetworkError(error);
      throw new Retryable(new OperationError(`${what} ${url} could not be fetched: ${why}; check the network and try again`, { cause: error }));
    } finally {
      guard.done();
    }
  };
  return retrying(attempt, { retries: options.retries ?? 3, baseMs: options.backoffMs ?? 500, signal: options.signal });
}

function describeNetworkError(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}

/** A strong validator usable in If-Range (a weak ETag is not). */
function ifRange(v: Validators): string | undefined {
  if (v.etag && !v.etag.startsWith('W/')) return v.etag;
  return v.lastModified;
}

async function readSidecar(path: string): Promise<Validators | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Validators;
  } catch {
    return undefined;
  }
}

/**
 * Streams url into partPath, resuming a partial file left by an earlier run or attempt when
 * the server still has the same version. A sidecar (partPath.json) remembers the validators.
 */
export async function downloadResumable(url: string, partPath: string, what: string, options: HttpOptions): Promise<void> {
  const sidecar = `${partPath}.json`;
  const retries = options.retries ?? 4;
  const idleMs = options.idleTimeoutMs ?? 60_000;
  const attempt = async (): Promise<void> => {
    const saved = await readSidecar(sidecar);
    let have = 0;
    try {
      have = (await stat(partPath)).size;
    } catch {
      have = 0;
    }
    const validator = saved?.url === url ? ifRange(saved) : undefined;
    if (!validator) have = 0;
    const headers: Record<string, string> = {};
    if (have > 0 && validator) {
      headers.Range = `bytes=${have}-`;
      headers['If-Range'] = validator;
    }
    const guard = idleGuard(options.signal, idleMs);
    try {
      const res = await fetch(url, { headers, signal: guard.signal, redirect: 'follow' });
      if (res.status === 416 && have > 0 && saved?.total === have) {
        await res.body?.cancel();
        return; // already complete
      }
      if (!(res.status === 200 || res.status === 206)) {
        await res.body?.cancel();
        const failure = statusError(url, res.status, what);
        throw retryableStatus(res.status) ? new Retryable(failure, retryAfterMs(res.headers)) : failure;
      }
      let append = false;
      let total = Number(res.headers.get('content-length') ?? 0);
      if (res.status === 206) {
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
        if (!range || Number(range[1]) !== have) {
          await res.body?.cancel();
          await rm(partPath, { force: true });
          throw new Retryable(new Error('the server sent a range that was not asked for'), 0); // start over
        }
        append = true;
        total = range[3] === '*' ? 0 : Number(range[3]);
      } else {
        have = 0; // a server that ignores Range (or a changed file) sends everything again
      }
      await writeFile(sidecar, JSON.stringify({ url, etag: res.headers.get('etag') ?? undefined, lastModified: res.headers.get('last-modified') ?? undefined, total } satisfies Validators));
      let done = have;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          guard.bump();
          done += chunk.length;
          options.onProgress?.(done, total);
          cb(null, chunk);
        },
      });
      if (!res.body) throw new OperationError(`${what} ${url} sent no body`);
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), counter, createWriteStream(partPath, { flags: append ? 'a' : 'w' }), { signal: guard.signal });
      if (total > 0 && done !== total) throw new Error(`got ${done} of ${total} bytes`);
    } catch (error) {
      if (options.signal.aborted || error instanceof Retryable || error instanceof UserInputError || error instanceof OperationError) throw error;
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
        await rm(partPath, { force: true });
        await rm(sidecar, { force: true });
        throw new OperationError(`the cache directory has no space left for ${what} ${url}; free some space or pass another --cache-dir`, { cause: error });
      }
      const why = guard.stalled() ? `no data for ${idleMs / 1000} s` : describeNetworkError(error);
      throw new Retryable(
        new OperationError(`${what} ${url} could not be downloaded after ${retries + 1} attempts: ${why}; run the build again to resume`, { cause: error }),
      );
    } finally {
      guard.done();
    }
  };
  await retrying(attempt, { retries, baseMs: options.backoffMs ?? 1000, signal: options.signal });
}
