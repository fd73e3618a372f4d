// A stateful fake of Vultr's API v2 on loopback, the one real component that cannot run
// here. Every request body and every documented response is checked against Vultr's own
// OpenAPI document (test/fixtures/vultr-openapi); violations are collected, and the test
// files assert there are none after every test. What the document does not say (how a real
// account behaves) comes from docs/publishing.md, "How Vultr really behaves", as a profile:
//   - vultr-2026 (the default): a guest power-off is not registered (power_status stays
//     running), the library holds 2 ISOs and already has one that is not ours, a detach
//     restarts the instance, the instance is locked for a while after create and after a
//     detach (start/detach/delete answer Vultr's HTTP 500 lock error meanwhile), and Vultr
//     does not follow redirects (such an ISO never completes);
//   - power-offs-register: the same, but a guest power-off shows as power_status stopped.
// Whether GET /instances's `?tag=` filter matches an entry of tags[] is not known either, so
// Behaviour.instanceFilter chooses: exact (the default), lax (every VM comes back) or
// matches-nothing; what it was asked is kept in instanceFilterQueries.
// Each instance has a network presence: its main IP is a loopback address (127.0.x.y) where
// the "installed system" answers an SSH banner on the fake's SSH port, and nothing answers
// while the "installer" runs or the guest reboots.
// ISOs become complete only after the fake really downloads the URL and hashes it.
// A trace written by `--trace` can drive the fake instead (FakeVultr.replaying).
// Faults (fake-faults.ts) are injected one call at a time with inject(): "fault X at call k".
// Every change to the account is logged (events), so a test can tell what a run made,
// deleted, detached or restarted.
import { Ajv, type ValidateFunction } from 'ajv';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import type { TraceLine } from '../../src/systems/vultr-trace.js';
import { CallLog, FAULTS_BEFORE_ACTING, type Call, type Fault } from './fake-faults.js';
import { ROOT } from './project.js';

const spec = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/vultr-openapi/v0.0.1.json'), 'utf8')) as {
  paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, { content?: Record<string, unknown> }> }>>;
};
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(spec, 'vultr');
const esc = (p: string) => p.replace(/~/g, '~0').replace(/\//g, '~1');
const compiled = new Map<string, ValidateFunction>();
function validator(pointer: string): ValidateFunction {
  const known = compiled.get(pointer);
  if (known) return known;
  const v = ajv.compile({ $ref: `vultr#${pointer}` });
  compiled.set(pointer, v);
  return v;
}
const templates = Object.keys(spec.paths).map((t) => ({ template: t, re: new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));

export interface Behaviour {
  /** A guest power-off shows in the API as power_status stopped. */
  powerOffRegisters: boolean;
  /** How many ISOs the library holds. */
  librarySize: number;
  /** ISOs (not ours) in the library before the test starts. */
  foreignIsos: string[];
  /** A detach restarts the instance. */
  detachRestarts: boolean;
  /**
   * server_status is "locked" this long after create and after a detach; Infinity: until the
   * test calls unlock(), for a test that must see a lock without racing a timer.
   */
  lockMs: number;
  /** How long the guest is down in a reboot. */
  rebootMs: number;
  /** How long the installer runs. */
  installMs: number;
  /** How the install ends: a reboot (today's ISO), or a power-off (older ISOs). */
  installEnds: 'reboot' | 'poweroff';
  /** For this long after it is made, an ISO or instance is missing from list answers (GET by id finds it). */
  listLagMs: number;
  /**
   * An ISO made from a URL with a query (a presigned URL) keeps the query in its file name.
   * Vultr names an ISO after its URL; whether it drops the query is not known (docs/publishing.md).
   */
  isoFileNameKeepsQuery?: boolean;
  /**
   * server_status as reported, whatever the instance does (an ISO-booted instance may stay
   * "none": unrecorded, see docs/publishing.md, "`npm run create-vm`"); locks (the HTTP 500
   * refusals) still come and go as they do.
   */
  reportedServerStatus?: string;
  /**
   * How GET /instances applies its filter queries (tag, main_ip). No public source says
   * whether Vultr's `?tag=` matches an entry of tags[] (docs/publishing.md, "How Vultr really
   * behaves"), so besides 'exact' (it does) there are the two ways it could be wrong:
   * 'lax' (the queries are ignored and every VM comes back) and 'matches-nothing'.
   */
  instanceFilter?: InstanceFilter;
  /**
   * The account's limit on instances: a create that would pass it is refused with HTTP 400
   * (INSTANCE_LIMIT_ERROR). Real accounts have one; its size and its error text are unrecorded.
   */
  instanceLimit?: number;
}

export type InstanceFilter = 'exact' | 'lax' | 'matches-nothing';

export type Profile = 'vultr-2026' | 'power-offs-register';

const VULTR_2026: Behaviour = {
  powerOffRegisters: false,
  librarySize: 2,
  foreignIsos: ['my-rescue-system.iso'],
  detachRestarts: true,
  lockMs: 400,
  rebootMs: 400,
  installMs: 600,
  installEnds: 'reboot',
  listLagMs: 0,
};

export const PROFILES: Record<Profile, Behaviour> = {
  'vultr-2026': VULTR_2026,
  'power-offs-register': { ...VULTR_2026, powerOffRegisters: true },
};

/** The lock error real accounts answer (ansible-collection-vultr #113). */
export const LOCKED_ERROR = 'Unable to destroy server: Unable to remove VM: Server is currently locked';
/** Not recorded from a real account, and no public source quotes it: a stand-in. */
export const LIBRARY_FULL_ERROR = 'Unable to create ISO: you have reached the maximum number of ISOs allowed on this account';

/** Not recorded from a real account, and no public source quotes it: a stand-in. */
export const INSTANCE_LIMIT_ERROR = 'Unable to create server: you have reached the maximum number of instances allowed on this account';

/** A change to the account: what a run made, deleted, detached or restarted. */
export interface AccountEvent {
  kind: 'iso-made' | 'iso-deleted' | 'iso-dropped' | 'instance-made' | 'instance-deleted' | 'iso-detached' | 'instance-started';
  id: string;
  /** The call that made it (0: Vultr did it by itself). */
  call: number;
}

export interface FakeIso {
  /** When it was made (Date.now()); 0 for one that was there before. */
  madeAt?: number;
  id: string;
  date_created: string;
  filename: string;
  size: number;
  md5sum: string;
  sha512sum: string;
  status: 'pending' | 'complete';
}

type Guest = 'off' | 'installer' | 'rebooting' | 'installed';

export interface FakeInstance {
  id: string;
  label: string;
  hostname: string;
  region: string;
  plan: string;
  status: string;
  power_status: string;
  server_status: string;
  main_ip: string;
  v6_main_ip: string;
  v6_network: string;
  v6_network_size: number;
  tags: string[];
  date_created: string;
  isoId?: string;
  isoState: 'ready' | 'attached';
  request: Record<string, unknown>;
  /** What runs inside (the fake's idea of it). */
  guest: Guest;
  /** The disk holds an installed system. */
  installed: boolean;
  /** Until when (Date.now()) the instance is locked. */
  lockedUntil: number;
  /** The loopback address it gets as main_ip once it is active. */
  address: string;
  /** When it was made (Date.now()); 0 for one that was there before. */
  madeAt: number;
}

export interface FakeFaults {
  /** Answer the next N requests with 429 (no Retry-After, like Vultr). */
  rateLimit?: number;
  /** Answer the next N requests with 500 (after doing nothing). */
  serverErrors?: number;
  /** Create the ISO, then answer POST /iso with 500. */
  postIso500?: number;
  wrongSha512?: boolean;
  stuckPending?: boolean;
  /** Delay every response this long (client timeouts). */
  delayMs?: number;
}

let nextAddress = 10 + Math.floor(Math.random() * 50_000);

export class FakeVultr {
  readonly isos = new Map<string, FakeIso>();
  readonly instances = new Map<string, FakeInstance>();
  readonly violations: string[] = [];
  readonly requests: { method: string; path: string; status: number }[] = [];
  readonly downloads: string[] = [];
  /** The filter queries GET /instances was sent ("tag=x"), whatever instanceFilter did with them. */
  readonly instanceFilterQueries: string[] = [];
  readonly events: AccountEvent[] = [];
  readonly log = new CallLog();
  faults: FakeFaults = {};
  /** Faults waiting for their call (inject()). */
  private readonly injected: Fault[] = [];
  /** Which fault each call got: "call 7 POST /iso: lost". */
  readonly injectedLog: string[] = [];
  /** The CLI's process, which a Ctrl-C fault signals. */
  signalTarget?: number;
  /**
   * What an instance's installed system does once, on its first boot (e.g. send the install
   * report its user-data asks for: fake-install-report.ts). Deleting the instance waits for it,
   * as a VM's request in flight ends before the VM is gone.
   */
  onFirstBoot?: (instance: FakeInstance) => Promise<void>;
  private readonly firstBoots = new Map<string, Promise<void>>();
  readonly behaviour: Behaviour;
  url = '';
  /** The port where instances' "installed systems" answer SSH (VULTR_SID_ISO_SSH_PORT). */
  sshPort = 0;
  private created = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly listeners = new Map<string, TcpServer>();
  private replay?: Replay;
  private stopping?: () => Promise<void>;

  constructor(
    readonly apiKey: string,
    profile: Profile | Behaviour = 'vultr-2026',
    overrides: Partial<Behaviour> = {},
  ) {
    this.behaviour = { ...(typeof profile === 'string' ? PROFILES[profile] : profile), ...overrides };
    for (const name of this.behaviour.foreignIsos) this.addIso(name);
  }

  /** A fake that answers as a recorded run did (see Replay). */
  static replaying(apiKey: string, trace: TraceLine[], speed = 1): FakeVultr {
    const fake = new FakeVultr(apiKey, { ...PROFILES['vultr-2026'], foreignIsos: [] });
    fake.replay = new Replay(trace, speed);
    return fake;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
    // A free port for the SSH listeners (they share it, each on its own loopback address).
    const probe = createTcpServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    this.sshPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    this.replay?.begin(this);
    this.stopping = async () => {
      for (const t of this.timers) clearTimeout(t);
      this.replay?.stop();
      await Promise.all([...this.listeners.keys()].map((ip) => this.stopSsh(ip)));
      await new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
    };
    onTestFinished(() => this.stop());
    return this;
  }

  /** Closes the server and the instances' listeners (also when the test ends). */
  async stop(): Promise<void> {
    const stopping = this.stopping;
    this.stopping = undefined;
    await stopping?.();
  }

  /** After `ms`; cancelled when the test ends. */
  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  addIso(filename: string, extra: Partial<FakeIso> = {}): FakeIso {
    const iso: FakeIso = {
      id: randomUUID(),
      date_created: new Date(Date.now() - 86_400_000 + this.created++ * 1000).toISOString().replace('Z', '+00:00'),
      filename,
      size: 1000,
      md5sum: 'd41d8cd98f00b204e9800998ecf8427e',
      sha512sum: createHash('sha512').update(filename).digest('hex'),
      status: 'complete',
      ...extra,
    };
    this.isos.set(iso.id, iso);
    return iso;
  }

  /** An instance as if made earlier (in the console, or by an older run), with an ISO attached. */
  addInstance(fields: Partial<FakeInstance> & { isoId?: string }): FakeInstance {
    const i = this.newInstance({ label: 'older', region: 'ewr', plan: 'vc2-1c-2gb', tags: [] });
    Object.assign(i, { status: 'active', power_status: 'running', server_status: 'ok', main_ip: i.address, guest: 'installed', installed: true, isoState: fields.isoId ? 'attached' : 'ready', madeAt: 0, ...fields });
    this.guestChanged(i);
    return i;
  }

  /** Ends an instance's lock now (one held by lockMs: Infinity). */
  unlock(id: string): void {
    this.instances.get(id)!.lockedUntil = 0;
  }

  /** The fault lands on the first call `at` picks; each fault lands once. */
  inject(...faults: Fault[]): this {
    this.injected.push(...faults);
    return this;
  }

  private faultFor(call: Call): Fault | undefined {
    const i = this.injected.findIndex((f) => (typeof f.at === 'number' ? f.at === call.n : f.at(call)));
    if (i < 0) return undefined;
    const [fault] = this.injected.splice(i, 1);
    this.injectedLog.push(`call ${call.n} ${call.sig}: ${fault!.kind}`);
    return fault;
  }

  /** Faults that never found their call. */
  get pendingFaults(): Fault[] {
    return [...this.injected];
  }

  private interrupt(): void {
    if (this.signalTarget === undefined) throw new Error('fake Vultr: a Ctrl-C fault needs signalTarget (the CLI\'s pid)');
    try {
      process.kill(this.signalTarget, 'SIGINT');
    } catch {
      // Already gone.
    }
  }

  private check(what: string, pointer: string, value: unknown) {
    const v = validator(pointer);
    if (!v(value)) this.violations.push(`${what}: ${ajv.errorsText(v.errors)}`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/v2/, '');
    const method = (req.method ?? 'GET').toLowerCase();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const template = templates.find((t) => t.re.test(path))?.template;
    const op = template ? spec.paths[template]?.[method] : undefined;
    /** Until the client gives the request up (its abort or timeout closes the connection). */
    const closed = () =>
      new Promise<void>((r) => {
        if (res.destroyed || req.socket.destroyed) return r();
        res.once('close', () => r());
        this.later(30_000, r);
      });
    let answerFault: Fault['kind'] | undefined;
    const send = async (status: number, body?: unknown) => {
      if (this.faults.delayMs) await new Promise((r) => setTimeout(r, this.faults.delayMs));
      this.requests.push({ method: method.toUpperCase(), path, status: answerFault && answerFault !== 'after-502' ? 0 : answerFault ? 502 : status });
      const content = op?.responses[String(status)]?.content?.['application/json'];
      if (content && body !== undefined) {
        this.check(`response ${method.toUpperCase()} ${template} ${status}`, `/paths/${esc(template!)}/${method}/responses/${status}/content/${esc('application/json')}/schema`, body);
      } else if (op && status < 300 && !op.responses[String(status)]) {
        this.violations.push(`response ${method.toUpperCase()} ${template}: status ${status} is not documented`);
      }
      switch (answerFault) {
        case 'lost':
          req.socket.destroy();
          return;
        case 'timeout':
          await closed();
          return;
        case 'sigint-after':
          this.interrupt();
          await closed();
          return;
        case 'after-502':
          [status, body] = [502, { error: 'Bad Gateway', status: 502 }];
          break;
      }
      if (!res.writableEnded && !res.destroyed) {
        res.writeHead(status, body === undefined ? {} : { 'Content-Type': 'application/json' });
        res.end(body === undefined ? undefined : JSON.stringify(body));
      }
    };
    const error = (status: number, message: string) => send(status, { error: message, status });

    if (!op) {
      this.violations.push(`request ${method.toUpperCase()} ${path}: no such operation in the OpenAPI document`);
      return error(404, 'Invalid API endpoint');
    }
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return error(401, 'Invalid API token.');
    const call = this.log.arrive(method.toUpperCase(), path, template!);
    const fault = this.faultFor(call);
    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        this.violations.push(`request ${method.toUpperCase()} ${template}: body is not JSON`);
      }
    }
    if (op.requestBody) this.check(`request ${method.toUpperCase()} ${template}`, `/paths/${esc(template!)}/${method}/requestBody/content/${esc('application/json')}/schema`, body);
    for (const [name] of url.searchParams) {
      const params = (op as { parameters?: { name: string; in: string }[] }).parameters ?? [];
      if (!params.some((p) => p.in === 'query' && p.name === name)) this.violations.push(`request ${method.toUpperCase()} ${template}: query parameter ${name} is not documented`);
    }
    // Faults that act before the request does.
    switch (fault?.kind) {
      case 'drop':
        this.requests.push({ method: method.toUpperCase(), path, status: 0 });
        req.socket.destroy();
        return;
      case 'refused-500':
        return error(500, 'Internal server error');
      case '429':
        return error(429, 'rate limit exceeded');
      case '429-retry-after':
        res.setHeader('Retry-After', '3600');
        return error(429, 'rate limit exceeded');
      case 'sigint':
        this.interrupt();
        await closed();
        this.requests.push({ method: method.toUpperCase(), path, status: 0 });
        return;
      case 'signal':
        this.interrupt();
        break;
    }
    if (fault && !FAULTS_BEFORE_ACTING.includes(fault.kind)) {
      // Faults that come after the request acted: the answer is computed (and checked
      // against the OpenAPI document), then lost, held or replaced.
      answerFault = fault.kind;
    }
    if (this.replay) {
      const answer = this.replay.answer(method.toUpperCase(), path);
      return answer ? send(answer.status, answer.body) : error(404, 'fake: nothing recorded for this request');
    }
    if (this.faults.rateLimit) {
      this.faults.rateLimit--;
      return error(429, 'rate limit exceeded');
    }
    if (this.faults.serverErrors) {
      this.faults.serverErrors--;
      return error(500, 'Internal server error');
    }
    const id = path.split('/')[2] ?? '';
    const instance = this.instances.get(id);
    const locked = (i: FakeInstance) => Date.now() < i.lockedUntil;
    switch (`${method} ${template}`) {
      case 'get /iso':
        return send(200, this.page(url, 'isos', [...this.isos.values()].filter((i) => this.listed(i.madeAt ?? 0)).map((i) => this.isoView(i))));
      case 'post /iso': {
        if (this.isos.size >= this.behaviour.librarySize) return error(400, LIBRARY_FULL_ERROR);
        const source = new URL(String(body.url));
        const name = decodeURIComponent(source.pathname.split('/').pop() ?? 'x.iso') + (this.behaviour.isoFileNameKeepsQuery ? source.search : '');
        const iso = this.addIso(name, { status: 'pending', size: 0, md5sum: '', sha512sum: '' });
        iso.date_created = new Date().toISOString().replace('Z', '+00:00');
        iso.madeAt = Date.now();
        this.events.push({ kind: 'iso-made', id: iso.id, call: call.n });
        void this.download(iso, String(body.url));
        if (this.faults.postIso500) {
          this.faults.postIso500--;
          return error(500, 'Internal server error');
        }
        return send(201, { iso: this.isoView(iso) });
      }
      case 'get /iso/{iso-id}': {
        const iso = this.isos.get(id);
        return iso ? send(200, { iso: this.isoView(iso) }) : error(404, 'Invalid iso');
      }
      case 'delete /iso/{iso-id}': {
        const iso = this.isos.get(id);
        if (!iso) return error(404, 'Invalid iso');
        const holder = [...this.instances.values()].find((i) => i.isoId === id && i.isoState === 'attached');
        if (holder) return error(400, `Unable to delete ISO: This ISO is still attached to ${holder.main_ip}<br/><br />`);
        this.isos.delete(id);
        this.events.push({ kind: 'iso-deleted', id, call: call.n });
        return send(204);
      }
      case 'get /instances': {
        const tag = url.searchParams.get('tag');
        const mainIp = url.searchParams.get('main_ip');
        const filtered = Boolean(tag || mainIp);
        if (filtered) this.instanceFilterQueries.push([...url.searchParams].filter(([k]) => k === 'tag' || k === 'main_ip').map(([k, v]) => `${k}=${v}`).join('&'));
        const mode = this.behaviour.instanceFilter ?? 'exact';
        const matches = (i: FakeInstance) => mode === 'lax' || !filtered || (mode === 'exact' && (!tag || i.tags.includes(tag)) && (!mainIp || i.main_ip === mainIp));
        const list = [...this.instances.values()].filter((i) => this.listed(i.madeAt) && matches(i)).map((i) => this.instanceView(i));
        return send(200, this.page(url, 'instances', list));
      }
      case 'post /instances': {
        if (this.instances.size >= (this.behaviour.instanceLimit ?? Infinity)) return error(400, INSTANCE_LIMIT_ERROR);
        const made = this.createInstance(body);
        this.events.push({ kind: 'instance-made', id: made.id, call: call.n });
        return send(202, { instance: this.instanceView(made) });
      }
      case 'get /instances/{instance-id}':
        return instance ? send(200, { instance: this.instanceView(instance) }) : error(404, 'Invalid instance-id.');
      case 'delete /instances/{instance-id}':
        if (!instance) return error(404, 'Invalid instance-id.');
        if (locked(instance)) return error(500, LOCKED_ERROR);
        await this.firstBoots.get(id);
        this.instances.delete(id);
        this.events.push({ kind: 'instance-deleted', id, call: call.n });
        await this.stopSsh(instance.address);
        return send(204);
      case 'get /instances/{instance-id}/iso':
        return instance ? send(200, { iso_status: { iso_id: instance.isoState === 'attached' ? instance.isoId : '', state: instance.isoState } }) : error(404, 'Invalid instance-id.');
      case 'post /instances/{instance-id}/iso/detach': {
        if (!instance) return error(404, 'Invalid instance-id.');
        if (locked(instance)) return error(500, 'Unable to detach ISO: Server is currently locked');
        this.events.push({ kind: 'iso-detached', id, call: call.n });
        this.later(50, () => {
          instance.isoState = 'ready';
          if (this.behaviour.detachRestarts) this.restart(instance);
        });
        return send(202, { iso_status: { state: 'isunmounting' } });
      }
      case 'post /instances/{instance-id}/start': {
        if (!instance) return error(404, 'Invalid instance-id.');
        if (locked(instance)) return error(500, 'Unable to start server: Server is currently locked');
        this.events.push({ kind: 'instance-started', id, call: call.n });
        if (instance.power_status !== 'running' || instance.guest === 'off') this.boot(instance);
        return send(204);
      }
      default:
        return error(400, `fake: ${method} ${template} not implemented`);
    }
  }

  /** Whether a list answer shows an object made at `madeAt` yet (Behaviour.listLagMs). */
  private listed(madeAt: number): boolean {
    return madeAt === 0 || Date.now() - madeAt >= this.behaviour.listLagMs;
  }

  private page<T>(url: URL, key: string, all: T[]) {
    const perPage = Number(url.searchParams.get('per_page') ?? 100);
    const start = Number(url.searchParams.get('cursor') ?? 0);
    const next = start + perPage < all.length ? String(start + perPage) : '';
    return { [key]: all.slice(start, start + perPage), meta: { total: all.length, links: { next, prev: '' } } };
  }

  private isoView(i: FakeIso) {
    const { id, date_created, filename, size, md5sum, sha512sum, status } = i;
    return { id, date_created, filename, size, md5sum, sha512sum, status };
  }

  instanceView(i: FakeInstance) {
    const { isoId: _isoId, isoState: _isoState, request: _request, guest: _guest, installed: _installed, lockedUntil: _lockedUntil, address: _address, madeAt: _madeAt, ...view } = i;
    return {
      ...view,
      server_status: this.behaviour.reportedServerStatus ?? (Date.now() < i.lockedUntil ? 'locked' : i.server_status),
      os: 'Custom', ram: 2048, disk: 55, vcpu_count: 1, default_password: 'not-a-real-password', allowed_bandwidth: 2048, netmask_v4: '255.255.254.0',
      gateway_v4: '192.0.2.1', internal_ip: '', kvm: 'https://my.vultr.com/subs/vps/novnc/api.php?data=secret-console-token', os_id: 159, app_id: 0,
      image_id: '', firewall_group_id: '', features: ['ipv6'], tag: '', user_scheme: 'root',
      v6_networks: i.v6_network ? [{ network: i.v6_network, main_ip: i.v6_main_ip, network_size: i.v6_network_size }] : [],
    };
  }

  private async download(iso: FakeIso, url: string) {
    if (this.faults.stuckPending) return;
    try {
      // Vultr fetches the URL itself and does not follow redirects (docs/publishing.md, "How
      // Vultr really behaves"): such an ISO never completes.
      const res = await fetch(url, { redirect: 'manual' });
      if (res.status >= 300 && res.status < 400) return;
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = Buffer.from(await res.arrayBuffer());
      this.downloads.push(url);
      iso.size = data.length;
      iso.md5sum = createHash('md5').update(data).digest('hex');
      iso.sha512sum = this.faults.wrongSha512 ? createHash('sha512').update('corrupted').digest('hex') : createHash('sha512').update(data).digest('hex');
      iso.status = 'complete';
    } catch {
      // Vultr drops ISOs it cannot fetch.
      if (this.isos.delete(iso.id)) this.events.push({ kind: 'iso-dropped', id: iso.id, call: 0 });
    }
  }

  private newInstance(body: Record<string, unknown>): FakeInstance {
    const n = nextAddress++;
    const i: FakeInstance = {
      id: randomUUID(),
      label: String(body.label ?? ''),
      hostname: String(body.hostname ?? ''),
      region: String(body.region),
      plan: String(body.plan),
      status: 'pending',
      power_status: 'stopped',
      server_status: 'none',
      main_ip: '0.0.0.0',
      v6_main_ip: '',
      v6_network: '',
      v6_network_size: 0,
      tags: (body.tags as string[]) ?? [],
      date_created: new Date().toISOString().replace('Z', '+00:00'),
      isoId: body.iso_id === undefined ? undefined : String(body.iso_id),
      isoState: body.iso_id === undefined ? 'ready' : 'attached',
      request: body,
      guest: 'off',
      installed: false,
      lockedUntil: 0,
      address: `127.0.${(n >> 8) & 255}.${n & 255}`,
      madeAt: Date.now(),
    };
    this.instances.set(i.id, i);
    return i;
  }

  private createInstance(body: Record<string, unknown>): FakeInstance {
    const i = this.newInstance(body);
    const n = this.instances.size + 10;
    // pending → active/running, locked while it provisions → the installer runs.
    this.later(100, () => {
      if (!this.instances.has(i.id)) return;
      // An IPv6-only VM (disable_public_ipv4) has a private lease in 100.68.0.0/18 (RFC 6598), as a
      // user saw on a real account (vultr/vultr-cli#586): never an address anything here may dial.
      const ipv6Only = body.disable_public_ipv4 === true && body.enable_ipv6 === true;
      Object.assign(i, { status: 'active', main_ip: ipv6Only ? `100.68.${(n >> 8) & 63}.${n & 255}` : i.address, server_status: 'installingbooting' });
      if (body.enable_ipv6) Object.assign(i, { v6_main_ip: `2001:db8:5:${n.toString(16)}:5400:4ff:fe2a:${n.toString(16)}`, v6_network: `2001:db8:5:${n.toString(16)}::`, v6_network_size: 64 });
      i.lockedUntil = Date.now() + this.behaviour.lockMs;
      this.boot(i);
    });
    return i;
  }

  /** Power on: with the ISO attached it boots the ISO, which boots an installed disk (issue 13) or installs. */
  private boot(i: FakeInstance): void {
    i.power_status = 'running';
    if (i.installed) {
      this.setGuest(i, 'rebooting');
      this.later(this.behaviour.rebootMs, () => this.setGuest(i, 'installed'));
      return;
    }
    if (i.isoState !== 'attached') return this.setGuest(i, 'off'); // nothing to boot
    this.setGuest(i, 'installer');
    this.later(this.behaviour.installMs, () => {
      if (i.guest !== 'installer') return;
      i.installed = true;
      i.server_status = 'ok';
      if (this.behaviour.installEnds === 'reboot') return this.boot(i);
      this.setGuest(i, 'off');
      if (this.behaviour.powerOffRegisters) i.power_status = 'stopped';
    });
  }

  /** A restart Vultr makes (after a detach): locked for a while, down, then up again. */
  private restart(i: FakeInstance): void {
    i.lockedUntil = Date.now() + this.behaviour.lockMs;
    this.setGuest(i, 'rebooting');
    this.later(this.behaviour.rebootMs, () => this.boot(i));
  }

  private setGuest(i: FakeInstance, guest: Guest): void {
    i.guest = guest;
    this.guestChanged(i);
  }

  private guestChanged(i: FakeInstance): void {
    if (i.guest !== 'installed') {
      void this.stopSsh(i.address);
      return;
    }
    const sshd = this.startSsh(i.address);
    if (this.onFirstBoot && !this.firstBoots.has(i.id) && this.instances.has(i.id) && i.madeAt !== 0) {
      const hook = this.onFirstBoot;
      this.firstBoots.set(i.id, sshd.then(() => hook(i)).catch(() => undefined));
    }
  }

  /** The installed system's sshd on the instance's address. */
  async startSsh(ip: string): Promise<void> {
    if (this.listeners.has(ip) || !ip.startsWith('127.')) return;
    const server = createTcpServer((socket) => {
      socket.on('error', () => undefined);
      socket.end('SSH-2.0-OpenSSH_10.6 Debian-1\r\n');
    });
    this.listeners.set(ip, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.sshPort, ip, () => resolve());
    });
  }

  async stopSsh(ip: string): Promise<void> {
    const server = this.listeners.get(ip);
    if (!server) return;
    this.listeners.delete(ip);
    await new Promise<void>((r) => server.close(() => r()));
  }

  /** Replay: the guest of a recorded instance answers SSH as the recording says. */
  setSsh(ip: string, up: boolean): void {
    void (up ? this.startSsh(ip) : this.stopSsh(ip));
  }
}

/**
 * Answers as a recorded run did. Time runs from the start of the replay, `speed` times as
 * fast as the recording: a GET is answered with the latest recorded answer to that request
 * at that point in time (the first one if none yet), a POST or DELETE with the next recorded
 * answer to it in order. Recorded addresses become loopback ones, where the instance's SSH
 * port answers whenever the recording saw a banner there.
 */
class Replay {
  private started = 0;
  private readonly t0: number;
  private readonly consumed = new Map<string, number>();
  private readonly addresses = new Map<string, string>();
  private ticker?: NodeJS.Timeout;
  private fake?: FakeVultr;

  constructor(
    private readonly trace: TraceLine[],
    private readonly speed: number,
  ) {
    this.t0 = Date.parse(trace[0]?.t ?? new Date().toISOString());
  }

  begin(fake: FakeVultr): void {
    this.fake = fake;
    this.started = Date.now();
    // SSH follows the recording in time; checked every 20 ms.
    this.ticker = setInterval(() => {
      const now = this.now();
      for (const [recorded] of this.addresses) {
        const last = this.trace.filter((l) => l.kind === 'ssh' && l.host === recorded && Date.parse(l.t) <= now).at(-1);
        if (last?.kind === 'ssh') fake.setSsh(this.local(recorded), Boolean(last.banner));
      }
    }, 20);
  }

  stop(): void {
    clearInterval(this.ticker);
  }

  private now(): number {
    return this.t0 + (Date.now() - this.started) * this.speed;
  }

  /** Recorded IPv4 → a loopback address; other addresses (IPv6) stay as they are, unreachable here. */
  private local(ip: string): string {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip) || ip === '0.0.0.0') return ip;
    if (!this.addresses.has(ip)) {
      const n = nextAddress++;
      this.addresses.set(ip, `127.0.${(n >> 8) & 255}.${n & 255}`);
    }
    return this.addresses.get(ip)!;
  }

  private localize(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.localize(v));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'main_ip' && typeof v === 'string' ? this.local(v) : this.localize(v)]));
    }
    return value;
  }

  answer(method: string, path: string): { status: number; body?: unknown } | undefined {
    const recorded = this.trace.filter((l): l is Extract<TraceLine, { kind: 'api' }> => l.kind === 'api' && l.method === method && l.path.split('?')[0] === path.split('?')[0]);
    if (recorded.length === 0) return undefined;
    let line: (typeof recorded)[number];
    if (method === 'GET') {
      const now = this.now();
      line = recorded.filter((l) => Date.parse(l.t) <= now).at(-1) ?? recorded[0]!;
    } else {
      const key = `${method} ${path}`;
      const n = this.consumed.get(key) ?? 0;
      this.consumed.set(key, n + 1);
      line = recorded[Math.min(n, recorded.length - 1)]!;
    }
    const body = line.status >= 400 ? { error: line.error ?? '', status: line.status } : (this.localize(line.body) as unknown);
    return { status: line.status, body };
  }
}
