// Vultr API v2 on Node's fetch (not vultr-node, which resolves errors instead of throwing).
// Throttled well under Vultr's 30 requests/s; retries follow http-retry.ts (GET and DELETE
// on 429/5xx/network errors, POST only on 429). A request that changes something and got no
// clear answer is made safe to repeat: a create looks for what it may have made, among what
// was not there before it was sent (PendingCreate), for a while before it asks again; a
// DELETE answered 404 on a retry was done by the first try. A locked instance (Vultr refuses
// start, detach, delete… with HTTP 500 while it provisions or reboots) is waited for
// (whenUnlocked): the refusal decides, server_status is only a hint.
// The API key is only ever placed in the Authorization header: never in a message or log.
import { setTimeout as delay } from 'node:timers/promises';
import type { Settings } from '../config/settings.js';
import { OperationError, UserInputError } from '../pipeline/errors.js';
import { backoffMs, createOnce, mayResend, requestSignal, Retryable, retryAfterMs, retrying, settle, UncertainError, type Settle } from './http-retry.js';
import type { Trace } from './vultr-trace.js';

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

  /** Vultr refused because the instance is locked (HTTP 500 "Server is currently locked"): nothing was done. */
  get locked(): boolean {
    return /\blocked\b/i.test(this.vultrError);
  }
}

/** The thing asked for is not there (any more): for a delete, the goal. */
export const isGone = (error: unknown) => error instanceof VultrApiError && error.status === 404;

const uncertain = (method: string, path: string, why: string, cause?: unknown) =>
  new UncertainError(`Vultr API ${method} ${path} did not answer clearly (${why})`, { cause });

export interface VultrIso {
  id: string;
  date_created: string;
  filename: string;
  size?: number;
  md5sum?: string;
  sha512sum?: string;
  status: string;
}

/** The fields of POST /instances this tool sends (never os_id: the instance boots the ISO). */
export interface InstanceRequest {
  region: string;
  plan: string;
  iso_id: string;
  enable_ipv6: true;
  /** No public IPv4 (an IPv6-only VM): fixed at creation. */
  disable_public_ipv4?: true;
  label: string;
  hostname: string;
  tags: string[];
  sshkey_id?: string[];
  user_data?: string;
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

type Method = 'GET' | 'POST' | 'DELETE';

/**
 * A create that may have happened: what existed before it was sent, and how to tell what it
 * made. Kept by the step from before the POST, so that a failure or a Ctrl-C can still find
 * (and remove) what Vultr made even when its answer never came.
 */
export class PendingCreate<T extends { id: string }> {
  /** An attempt went unanswered: Vultr may have made more than the one the create returned. */
  uncertain = false;

  constructor(
    /** "an ISO named x.iso". */
    readonly what: string,
    private readonly before: ReadonlySet<string>,
    private readonly list: (vultr: VultrClient) => Promise<T[]>,
    private readonly matches: (item: T) => boolean,
  ) {}

  /** Everything matching that a list shows and that was not there before. */
  async findAll(vultr: VultrClient): Promise<T[]> {
    return (await this.list(vultr)).filter((item) => !this.before.has(item.id) && this.matches(item));
  }

  /** What the create made, if a list shows it yet (never anything that was there before). */
  async find(vultr: VultrClient): Promise<T | undefined> {
    return (await this.findAll(vultr))[0];
  }

  /** What the create made, looked for as long as a lagging list may hide it; undefined: nothing. */
  settle(vultr: VultrClient, window: Settle): Promise<T | undefined> {
    return settle(() => this.find(vultr), window);
  }
}

/** An onUncertain that also marks the pending create as uncertain. */
function uncertainOf<T extends { id: string }>(pending: PendingCreate<T>, options: { onUncertain?: (error: Error) => void }) {
  return {
    onUncertain: (error: Error) => {
      pending.uncertain = true;
      options.onUncertain?.(error);
    },
  };
}

/** How long a run looks for what an unanswered request may have made before asking again: lists lag. */
export function settleWindow(pollIntervalMs: number): Settle {
  return { settleMs: Math.min(60_000, 10 * pollIntervalMs), intervalMs: pollIntervalMs };
}

export interface VultrClientOptions {
  apiKey: string;
  baseUrl: string;
  /** Minimum gap between requests (default 125 ms: at most 8 requests/s). */
  minIntervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  signal?: AbortSignal;
  /** --trace: every answer is recorded. */
  trace?: Trace;
  /** Shared by every copy of a client (withSignal): one pace for the whole run, however many VMs. */
  pace?: { next: number };
}

export interface LockWait {
  /** The longest pause between two tries. */
  intervalMs: number;
  /** Give up after this long (default 15 minutes). */
  timeoutMs?: number;
  /** Told, in a sentence, each time the instance is found locked. */
  info?: (message: string) => void;
}

/** How long to wait for an instance to be unlocked before giving up, unless told otherwise. */
export const LOCK_TIMEOUT_MS = 15 * 60_000;

export class VultrClient {
  private readonly baseUrl: string;
  private readonly pace: { next: number };

  constructor(private readonly options: VultrClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.pace = options.pace ?? { next: 0 };
  }

  /** The same client (and the same pace) with another cancellation signal (cleanup must outlive a Ctrl-C). */
  withSignal(signal: AbortSignal | undefined): VultrClient {
    return new VultrClient({ ...this.options, signal, pace: this.pace });
  }

  private async throttle(): Promise<void> {
    const now = Date.now();
    const wait = this.pace.next - now;
    this.pace.next = Math.max(now, this.pace.next) + (this.options.minIntervalMs ?? 125);
    if (wait > 0) await delay(wait);
  }

  async request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const signal = this.options.signal ?? new AbortController().signal;
    const attempt = async (n: number): Promise<T> => {
      await this.throttle();
      let res: Response;
      let text: string;
      // The timeout covers the answer's body too: an answer cut off half-way is a lost answer.
      const limit = requestSignal(signal, this.options.timeoutMs ?? 30_000);
      try {
        res = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${this.options.apiKey}`,
            Accept: 'application/json',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: limit.signal,
        });
        text = await res.text();
      } catch (error) {
        if (signal.aborted) throw error;
        const why = (error as Error).name === 'TimeoutError' ? 'timed out' : ((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
        this.options.trace?.record({ kind: 'api-failed', method, path, error: why });
        if (!mayResend(method, undefined)) throw uncertain(method, path, why, error);
        throw new Retryable(new OperationError(`Vultr API ${method} ${path} failed: ${why}; check the network and VULTR_API_URL`, { cause: error }));
      } finally {
        limit.clear();
      }
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      const vultrError = (() => {
        const e = (json as { error?: unknown } | undefined)?.error;
        return typeof e === 'string' ? e.replace(/<br\s*\/?>/gi, ' ').trim() : '';
      })();
      this.options.trace?.record({ kind: 'api', method, path, status: res.status, ...(vultrError ? { error: vultrError } : {}), ...(res.ok ? { body: json } : {}) });
      // A retried DELETE that finds nothing: the first try did it, and its answer was lost.
      if (method === 'DELETE' && n > 0 && res.status === 404) return undefined as T;
      if (res.ok) {
        if (text && json === undefined) throw new OperationError(`Vultr API ${method} ${path} answered HTTP ${res.status} with something that is not JSON`);
        return json as T;
      }
      const refusedForLock = /\blocked\b/i.test(vultrError);
      const failure =
        res.status === 401 || res.status === 403
          ? new UserInputError(`the Vultr API rejected VULTR_API_KEY (HTTP ${res.status}${vultrError ? `: ${vultrError}` : ''}); check the key and its IP access control list`)
          : method === 'POST' && res.status >= 500 && !refusedForLock
            ? uncertain(method, path, `HTTP ${res.status}`)
            : new VultrApiError(method, path, res.status, vultrError);
      // A locked instance is whenUnlocked's business, which waits far longer than a retry.
      // Vultr sends 429 without Retry-After; it is honoured if it ever appears.
      if (!refusedForLock && mayResend(method, res.status)) throw new Retryable(failure, retryAfterMs(res.headers));
      throw failure;
    };
    // The longest wait (also for a Retry-After) scales with the backoff: 12 s by default.
    const baseMs = this.options.backoffMs ?? 500;
    return retrying(attempt, { retries: this.options.retries ?? 8, baseMs, maxMs: 24 * baseMs, signal });
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
  /** Before POST /iso: the ISOs there now, so that one with this file name that appears later is the one it made. */
  async pendingIso(filename: string): Promise<PendingCreate<VultrIso>> {
    const before = new Set((await this.listIsos()).map((i) => i.id));
    // Vultr names an ISO after its URL's last segment; whether it keeps a presigned URL's
    // query there is not known, so both forms are the file.
    return new PendingCreate(`an ISO named ${filename}`, before, (vultr) => vultr.listIsos(), (i) => i.filename.replace(/\?.*$/, '') === filename);
  }
  /** POST /iso, asked again only when nothing it may have made shows up within the settle window. */
  async createIso(url: string, pending: PendingCreate<VultrIso>, options: Settle & { onUncertain?: (error: Error) => void }): Promise<VultrIso> {
    return createOnce(async () => (await this.request<{ iso: VultrIso }>('POST', '/iso', { url })).iso, () => pending.find(this), { ...options, ...uncertainOf(pending, options), signal: this.options.signal });
  }
  async deleteIso(id: string): Promise<void> {
    await this.request('DELETE', `/iso/${encodeURIComponent(id)}`);
  }
  /** Every instance in the account: Vultr's own filters are never asked for (see listTagged). */
  listInstances(): Promise<VultrInstance[]> {
    return this.paginate<VultrInstance>('/instances', 'instances');
  }
  /**
   * The instances carrying `tag`, decided here from each one's tags[]. Vultr's `?tag=` filter
   * is not used: no public source says it matches an entry of tags[] (the tag rework was
   * buggy, vultr/terraform-provider-vultr#309; the old single `tag` field held one tag), and
   * a filter that matched nothing would let a clean-up report a clean account while a billed
   * VM runs on, one that matched everything would act on VMs that are not ours.
   */
  async listTagged(tag: string): Promise<VultrInstance[]> {
    return (await this.listInstances()).filter((i) => hasTag(i, tag));
  }
  async getInstance(id: string): Promise<VultrInstance> {
    return (await this.request<{ instance: VultrInstance }>('GET', `/instances/${encodeURIComponent(id)}`)).instance;
  }
  /** Before POST /instances: the instances with its first tag now; one with its tag and label that appears later is the one it made. */
  async pendingInstance(body: InstanceRequest): Promise<PendingCreate<VultrInstance>> {
    const tag = body.tags[0]!;
    const before = new Set((await this.listTagged(tag)).map((i) => i.id));
    return new PendingCreate(`an instance labelled ${body.label}`, before, (vultr) => vultr.listTagged(tag), (i) => i.label === body.label && hasTag(i, tag));
  }
  /** POST /instances, asked again only when nothing it may have made shows up within the settle window. */
  async createInstance(body: InstanceRequest, pending: PendingCreate<VultrInstance>, options: Settle & { onUncertain?: (error: Error) => void }): Promise<VultrInstance> {
    return createOnce(async () => (await this.request<{ instance: VultrInstance }>('POST', '/instances', body)).instance, () => pending.find(this), { ...options, ...uncertainOf(pending, options), signal: this.options.signal });
  }
  async deleteInstance(id: string): Promise<void> {
    await this.request('DELETE', `/instances/${encodeURIComponent(id)}`);
  }
  async instanceIsoStatus(id: string): Promise<{ iso_id?: string; state: string }> {
    return (await this.request<{ iso_status: { iso_id?: string; state: string } }>('GET', `/instances/${encodeURIComponent(id)}/iso`)).iso_status;
  }
  /** POST …/iso/detach; after an unclear answer, an ISO no longer mounted means it was done. */
  async detachIso(id: string, options: Settle): Promise<void> {
    await createOnce(
      () => this.request('POST', `/instances/${encodeURIComponent(id)}/iso/detach`),
      async () => (['ready', 'isunmounting'].includes((await this.instanceIsoStatus(id)).state) ? true : undefined),
      { ...options, signal: this.options.signal },
    );
  }
  /** POST …/start; after an unclear answer, an instance that shows running was started. */
  async startInstance(id: string, options: Settle): Promise<void> {
    await createOnce(
      () => this.request('POST', `/instances/${encodeURIComponent(id)}/start`),
      async () => ((await this.getInstance(id)).power_status === 'running' ? true : undefined),
      { ...options, signal: this.options.signal },
    );
  }

  /**
   * Runs an operation on an instance (start, detach, delete…; `doing` says which, as in
   * "delete it") once Vultr lets it. Vultr's refusal because of a lock (HTTP 500 "Server is
   * currently locked") is what decides, never server_status (an ISO-booted instance may report
   * "none" for good): each refusal means waiting and asking again, until `timeoutMs` (default
   * LOCK_TIMEOUT_MS) has passed since the first try.
   */
  async whenUnlocked<T>(id: string, doing: string, operation: () => Promise<T>, wait: LockWait): Promise<T> {
    const signal = this.options.signal ?? new AbortController().signal;
    const timeoutMs = wait.timeoutMs ?? LOCK_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (!(error instanceof VultrApiError && error.locked)) throw error;
        wait.info?.(`instance ${id} is locked (Vultr: "${error.vultrError}"); waiting to ${doing}`);
      }
      if (Date.now() >= deadline) {
        throw new OperationError(`instance ${id} stayed locked for ${Math.round(timeoutMs / 1000)} s, so Vultr would not let this run ${doing}; try again later`);
      }
      // Backs off from a second up to the poll interval: most locks are short.
      const pause = backoffMs(attempt, { baseMs: Math.min(1000, wait.intervalMs), maxMs: wait.intervalMs });
      await delay(Math.min(pause, Math.max(0, deadline - Date.now())), undefined, { signal });
    }
  }

  /** ISO id → the instances it is attached to (one request per instance: Vultr has no reverse lookup). */
  async attachments(): Promise<Map<string, VultrInstance[]>> {
    const out = new Map<string, VultrInstance[]>();
    for (const instance of await this.listInstances()) {
      const status = await this.instanceIsoStatus(instance.id).catch((error: unknown) => {
        if (error instanceof VultrApiError && error.status === 404) return undefined; // deleted meanwhile
        throw error;
      });
      // "ready" may still name the ISO it had (govultr's tests); only a mounted one counts.
      if (!status?.iso_id || status.state === 'ready') continue;
      out.set(status.iso_id, [...(out.get(status.iso_id) ?? []), instance]);
    }
    return out;
  }
}

/** Whether the instance carries the tag (an entry of its tags[]; never a substring). */
export function hasTag(instance: Pick<VultrInstance, 'tags'>, tag: string): boolean {
  return tag !== '' && (instance.tags ?? []).includes(tag);
}

/** "instance 5f0… (label, 192.0.2.7)". */
export function describeInstance(instance: VultrInstance): string {
  const details = [instance.label, instance.main_ip].filter((d) => d && d !== '0.0.0.0');
  return `instance ${instance.id}${details.length ? ` (${details.join(', ')})` : ''}`;
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

/** The client for the API in the settings; a missing key is bad input (exit 2). */
export function vultrClient(settings: Pick<Settings, 'vultr' | 'http'>, signal: AbortSignal, trace?: Trace): VultrClient {
  if (!settings.vultr.apiKey) throw new UserInputError('VULTR_API_KEY is not set; create an API key in the Vultr portal (Account → API) and export it');
  return new VultrClient({
    apiKey: settings.vultr.apiKey,
    baseUrl: settings.vultr.apiUrl,
    signal,
    backoffMs: settings.http.backoffMs,
    timeoutMs: settings.http.timeoutMs,
    trace,
  });
}
