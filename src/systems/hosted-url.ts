// An ISO someone else hosts (publish --url): Vultr fetches it itself, and does not follow
// redirects (docs/publishing.md, "How Vultr really behaves"), so the URL must answer 200
// with the ISO's size on its own. A redirect is bad input, and the message names where it
// leads.
import { OperationError, UserInputError } from '../pipeline/errors.js';
import { requestSignal, retryableStatus, retryAfterMs, Retryable, retrying } from './http-retry.js';

const MAX_HOPS = 10;

async function head(url: string, signal: AbortSignal, timeoutMs: number): Promise<Response> {
  const limit = requestSignal(signal, timeoutMs);
  try {
    const res = await fetch(url, { method: 'HEAD', redirect: 'manual', signal: limit.signal });
    await res.body?.cancel();
    if (retryableStatus(res.status)) {
      throw new Retryable(new OperationError(`--url ${url} answers HTTP ${res.status}; Vultr must be able to download it, so try again later`), retryAfterMs(res.headers));
    }
    return res;
  } catch (error) {
    if (signal.aborted || error instanceof Retryable) throw error;
    const why = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new Retryable(new UserInputError(`--url ${url} cannot be reached (${why}); Vultr must be able to download it`, { cause: error }));
  } finally {
    limit.clear();
  }
}

/** Where a chain of redirects ends (or the last hop we looked at). */
async function finalUrl(from: string, signal: AbortSignal, timeoutMs: number): Promise<string> {
  let url = from;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const limit = requestSignal(signal, timeoutMs);
    const res = await fetch(url, { method: 'HEAD', redirect: 'manual', signal: limit.signal }).catch(() => undefined).finally(limit.clear);
    const location = res?.headers.get('location');
    if (!res || res.status < 300 || res.status >= 400 || !location) return url;
    url = new URL(location, url).href;
  }
  return url;
}

export async function checkHostedIso(url: string, size: number, options: { signal: AbortSignal; backoffMs?: number; timeoutMs?: number }): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const res = await retrying(() => head(url, options.signal, timeoutMs), { retries: 3, baseMs: options.backoffMs ?? 1000, signal: options.signal });
  if (res.status >= 300 && res.status < 400) {
    const target = await finalUrl(url, options.signal, timeoutMs);
    // A redirect's target may be signed (a release asset's is): its query is not for logs.
    const shown = target.includes('?') ? `${target.split('?')[0]}?… (its query string not shown: it may carry a signature)` : target;
    throw new UserInputError(`--url ${url} redirects (HTTP ${res.status}), and Vultr does not follow redirects; pass the final URL instead: ${shown}`);
  }
  const length = Number(res.headers.get('content-length'));
  if (!res.ok || length !== size) {
    throw new UserInputError(`--url ${url} answers HTTP ${res.status} with ${res.headers.get('content-length') ?? 'no'} bytes, but the ISO has ${size}; upload the ISO there first`);
  }
}
