// An ISO someone else hosts (publish --url): Vultr fetches it itself, and does not follow
// redirects (docs/publishing.md, "How Vultr really behaves"), so the URL must answer a GET
// with the ISO's size on its own. A redirect is bad input, and the message names where it
// leads.
//
// The check is a GET cut short (`Range: bytes=0-0`, the size read from Content-Range's total),
// never a HEAD: a URL presigned for GET answers HEAD with 403, because SigV4 signs the method
// (streamio/streamio-ffmpeg#236, samvera/browse-everything#341), and such URLs are what
// `--url` is for. A server that ignores
// Range answers 200 with the whole file: its Content-Length is the size, and the body is not read.
import { OperationError, UserInputError } from '../pipeline/errors.js';
import { requestSignal, retryableStatus, retryAfterMs, Retryable, retrying } from './http-retry.js';

const MAX_HOPS = 10;

/** What a GET of the first byte says: status, the whole file's size if the answer gives it, where a redirect leads. */
interface Probe {
  status: number;
  /** The whole file's size: Content-Range's total on 206 and 416, Content-Length on 200. */
  size?: number;
  /** Content-Length as sent (for the message about a refusal). */
  length: string | null;
  location: string | null;
  headers: Headers;
}

/** The total in a Content-Range ("bytes 0-0/1234"; a 416 gives a star for the range); undefined when unknown ("/*"). */
export function rangeTotal(contentRange: string | null): number | undefined {
  const total = /^bytes (?:\d+-\d+|\*)\/(\d+)$/.exec(contentRange?.trim() ?? '')?.[1];
  return total === undefined ? undefined : Number(total);
}

/** One ranged GET; the body is dropped unread. */
async function probeUrl(url: string, signal: AbortSignal, timeoutMs: number): Promise<Probe> {
  const limit = requestSignal(signal, timeoutMs);
  try {
    const res = await fetch(url, { method: 'GET', headers: { Range: 'bytes=0-0' }, redirect: 'manual', signal: limit.signal });
    await res.body?.cancel();
    const length = res.headers.get('content-length');
    const size = res.status === 206 || res.status === 416 ? rangeTotal(res.headers.get('content-range')) : res.status === 200 && length !== null ? Number(length) : undefined;
    return { status: res.status, size, length, location: res.headers.get('location'), headers: res.headers };
  } finally {
    limit.clear();
  }
}

async function probe(url: string, signal: AbortSignal, timeoutMs: number): Promise<Probe> {
  try {
    const res = await probeUrl(url, signal, timeoutMs);
    if (retryableStatus(res.status)) {
      throw new Retryable(new OperationError(`--url ${url} answers HTTP ${res.status}; Vultr must be able to download it, so try again later`), retryAfterMs(res.headers));
    }
    return res;
  } catch (error) {
    if (signal.aborted || error instanceof Retryable) throw error;
    const why = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new Retryable(new UserInputError(`--url ${url} cannot be reached (${why}); Vultr must be able to download it`, { cause: error }));
  }
}

/** Where a chain of redirects ends (or the last hop we looked at). */
async function finalUrl(from: string, signal: AbortSignal, timeoutMs: number): Promise<string> {
  let url = from;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const res = await probeUrl(url, signal, timeoutMs).catch(() => undefined);
    if (!res || res.status < 300 || res.status >= 400 || !res.location) return url;
    url = new URL(res.location, url).href;
  }
  return url;
}

export async function checkHostedIso(url: string, size: number, options: { signal: AbortSignal; backoffMs?: number; timeoutMs?: number }): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const res = await retrying(() => probe(url, options.signal, timeoutMs), { retries: 3, baseMs: options.backoffMs ?? 1000, signal: options.signal });
  if (res.status >= 300 && res.status < 400) {
    const target = await finalUrl(url, options.signal, timeoutMs);
    // A redirect's target may be signed (a release asset's is): its query is not for logs.
    const shown = target.includes('?') ? `${target.split('?')[0]}?… (its query string not shown: it may carry a signature)` : target;
    throw new UserInputError(`--url ${url} redirects (HTTP ${res.status}), and Vultr does not follow redirects; pass the final URL instead: ${shown}`);
  }
  if ((res.status !== 200 && res.status !== 206) || res.size !== size) {
    const has = res.size ?? res.length ?? 'no';
    throw new UserInputError(`--url ${url} answers HTTP ${res.status} with ${has} bytes, but the ISO has ${size}; upload the ISO there first`);
  }
}
