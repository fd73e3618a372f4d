// Vultr API v2 on Node's fetch (not vultr-node, which resolves errors instead of throwing).
// Throttled well under Vultr's 30 requests/s; GET and DELETE retried on 429/5xx/network
// errors with jittered backoff; POST retried only on 429 (the request was refused), because
// after a 5xx or a timeout it may have done its work: callers look before they retry.
// The API key is only ever placed in the Authorization header: never in a message or log.
import { setTimeout as delay } from 'node:timers/promises';
import { OperationError, UserInputError } from '../pipeline/errors.js';

export const DEFAULT_API_URL = 'https://api.vultr.com/v2';

export class VultrApiError extends OperationError {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly vultrError: string,
  ) {
    super(`Vultr API ${method} ${path} failed with HTTP ${status}${vultrError ? `: ${vultrError}` : ''}`);
    this.name = 'VultrApiError';
  }
}

/** The request may or may not have taken effect (5xx or timeout after sending). */
export class VultrUncertainError extends OperationError {
  constructor(method: string, path: string, why: string, options?: { cause?: unknown }) {
    super(`Vultr API ${method} ${path} did not answer clearly (${why})`, options);
    this.name = 'VultrUncertainError';
  }
}

export interface VultrIso {
  id: string;
  date_created: string;
  filename: string;
  size?: number;
  md5sum?: string;
  sha512sum?: string;
  status: string;
}

export interface VultrInstance {
  id: string;
  label: string;
  hostname?: string;
  region: string;
  plan: string;
  status: string;
  power_status: string;
  server_status?: string;
  main_ip: string;
  v6_main_ip?: string;
  v6_network?: string;
  v6_network_size?: number;
  v6_networks?: { network: string; main_ip: string; network_size: number }[];
  tags?: string[];
  date_created: string;
}

export interface VultrClientOptions {
  apiKey: string;
  baseUrl?: string;
  /** Minimum gap between requests (default 125 ms: at most 8 requests/s). */
  minIntervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  signal?: AbortSignal;
}

export class VultrClient {
  private readonly baseUrl: string;
  private next = 0;

  constructor(private readonly options: VultrClientOptions) {
    if (!options.apiKey) throw new UserInputError('VULTR_API_KEY is not set; create an API key in the Vultr portal (Account → API) and export it');
    this.baseUrl = (options.baseUrl ?? DEFAULT_API_URL).replace(/\/+$/, '');
  }

  /** The same client with another cancellation signal (cleanup must outlive a Ctrl-C). */
  withSignal(signal: AbortSignal | undefined): VultrClient {
    return new VultrClient({ ...this.options, signal });
  }

  private async throttle(): Promise<void> {
    const now = Date.now();
    const wait = this.next - now;
    this.next = Math.max(now, this.next) + (this.options.minIntervalMs ?? 125);
    if (wait > 0) await delay(wait);
  }

  async request<T>(method: 'GET' | 'POST' | 'DELETE' | 'PATCH', path: string, body?: unknown): Promise<T> {
    const retries = this.options.retries ?? 8;
    const idempotent = method === 'GET' || method === 'DELETE';
    let attempt = 0;
    for (;;) {
      await this.throttle();
      let res: Response;
      try {
        res = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${this.options.apiKey}`,
            Accept: 'application/json',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs ?? 30_000), ...(this.options.signal ? [this.options.signal] : [])]),
        });
      } catch (error) {
        if (this.options.signal?.aborted) throw error;
        const why = (error as Error).name === 'TimeoutError' ? 'timed out' : ((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
        if (idempotent && attempt < retries) {
          await delay(this.backoff(attempt++));
          continue;
        }
        if (!idempotent) throw new VultrUncertainError(method, path, why, { cause: error });
        throw new OperationError(`Vultr API ${method} ${path} failed: ${why}; check the network and VULTR_API_URL`, { cause: error });
      }
      if (res.ok) {
        const text = await res.text();
        return (text ? JSON.parse(text) : undefined) as T;
      }
      const vultrError = await res
        .json()
        .then((j: { error?: unknown }) => (typeof j?.error === 'string' ? j.error.replace(/<br\s*\/?>/gi, ' ').trim() : ''))
        .catch(() => '');
      const retryable = res.status === 429 || (idempotent && res.status >= 500);
      if (retryable && attempt < retries) {
        // Vultr sends 429 without Retry-After; honour it if it ever appears.
        const after = Number(res.headers.get('retry-after'));
        await delay(Number.isFinite(after) && after > 0 ? after * 1000 : this.backoff(attempt++));
        continue;
      }
      if (!idempotent && res.status >= 500) throw new VultrUncertainError(method, path, `HTTP ${res.status}`);
      if (res.status === 401 || res.status === 403) {
        throw new UserInputError(`the Vultr API rejected VULTR_API_KEY (HTTP ${res.status}${vultrError ? `: ${vultrError}` : ''}); check the key and its IP access control list`);
      }
      throw new VultrApiError(method, path, res.status, vultrError);
    }
  }

  private backoff(attempt: number): number {
    const base = this.options.backoffMs ?? 500;
    return Math.min(base * 2 ** attempt, 12_000) * (0.5 + Math.random() / 2);
  }

  /** Follows meta.links.next until it is empty. */
  private async paginate<T>(path: string, key: string): Promise<T[]> {
    const out: T[] = [];
    let cursor = '';
    do {
      const sep = path.includes('?') ? '&' : '?';
      const page = await this.request<Record<string, unknown> & { meta?: { links?: { next?: string } } }>(
        'GET',
        `${path}${sep}per_page=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      out.push(...((page[key] as T[]) ?? []));
      cursor = page.meta?.links?.next ?? '';
    } while (cursor);
    return out;
  }

  listIsos(): Promise<VultrIso[]> {
    return this.paginate<VultrIso>('/iso', 'isos');
  }
  async getIso(id: string): Promise<VultrIso> {
    return (await this.request<{ iso: VultrIso }>('GET', `/iso/${encodeURIComponent(id)}`)).iso;
  }
  async createIso(url: string): Promise<VultrIso> {
    return (await this.request<{ iso: VultrIso }>('POST', '/iso', { url })).iso;
  }
  async deleteIso(id: string): Promise<void> {
    await this.request('DELETE', `/iso/${encodeURIComponent(id)}`);
  }
  listInstances(tag?: string): Promise<VultrInstance[]> {
    return this.paginate<VultrInstance>(`/instances${tag ? `?tag=${encodeURIComponent(tag)}` : ''}`, 'instances');
  }
  async getInstance(id: string): Promise<VultrInstance> {
    return (await this.request<{ instance: VultrInstance }>('GET', `/instances/${encodeURIComponent(id)}`)).instance;
  }
  async createInstance(body: Record<string, unknown>): Promise<VultrInstance> {
    return (await this.request<{ instance: VultrInstance }>('POST', '/instances', body)).instance;
  }
  async deleteInstance(id: string): Promise<void> {
    await this.request('DELETE', `/instances/${encodeURIComponent(id)}`);
  }
  async instanceIsoStatus(id: string): Promise<{ iso_id?: string; state: string }> {
    return (await this.request<{ iso_status: { iso_id?: string; state: string } }>('GET', `/instances/${encodeURIComponent(id)}/iso`)).iso_status;
  }
  async detachIso(id: string): Promise<void> {
    await this.request('POST', `/instances/${encodeURIComponent(id)}/iso/detach`);
  }
  async startInstance(id: string): Promise<void> {
    await this.request('POST', `/instances/${encodeURIComponent(id)}/start`);
  }
}

/** The instance's IPv6 /64 from the flat fields (what Vultr sends), else v6_networks. */
export function instanceV6(instance: VultrInstance): { mainIp?: string; network?: string; size?: number } {
  const first = instance.v6_networks?.[0];
  return {
    mainIp: instance.v6_main_ip || first?.main_ip || undefined,
    network: instance.v6_network || first?.network || undefined,
    size: instance.v6_network_size || first?.network_size || undefined,
  };
}
