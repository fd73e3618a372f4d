// A stateful fake of Vultr's API v2 on loopback, the one real component that cannot run
// here. Every request body and every documented response is validated against Vultr's own
// OpenAPI document (test/fixtures/vultr-openapi); violations are collected for the tests to
// assert on. ISOs become complete only after the fake really downloads the URL and hashes it.
import { Ajv, type ValidateFunction } from 'ajv';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
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

export interface FakeIso {
  id: string;
  date_created: string;
  filename: string;
  size: number;
  md5sum: string;
  sha512sum: string;
  status: 'pending' | 'complete';
}

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
  /** How long the "installer" runs before powering off. */
  installMs?: number;
}

export class FakeVultr {
  readonly isos = new Map<string, FakeIso>();
  readonly instances = new Map<string, FakeInstance>();
  readonly violations: string[] = [];
  readonly requests: { method: string; path: string; status: number }[] = [];
  readonly downloads: string[] = [];
  faults: FakeFaults = {};
  url = '';
  private created = 0;

  constructor(readonly apiKey: string) {}

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
    onTestFinished(() => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }));
    return this;
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
    const send = async (status: number, body?: unknown) => {
      if (this.faults.delayMs) await new Promise((r) => setTimeout(r, this.faults.delayMs));
      this.requests.push({ method: method.toUpperCase(), path, status });
      const content = op?.responses[String(status)]?.content?.['application/json'];
      if (content && body !== undefined) {
        this.check(`response ${method.toUpperCase()} ${template} ${status}`, `/paths/${esc(template!)}/${method}/responses/${status}/content/${esc('application/json')}/schema`, body);
      } else if (op && status < 300 && !op.responses[String(status)]) {
        this.violations.push(`response ${method.toUpperCase()} ${template}: status ${status} is not documented`);
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
    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        this.violations.push(`request ${method.toUpperCase()} ${template}: body is not JSON`);
      }
    }
    if (op.requestBody) this.check(`request ${method.toUpperCase()} ${template}`, `/paths/${esc(template!)}/${method}/requestBody/content/${esc('application/json')}/schema`, body);
    if (this.faults.rateLimit) {
      this.faults.rateLimit--;
      return error(429, 'rate limit exceeded');
    }
    if (this.faults.serverErrors) {
      this.faults.serverErrors--;
      return error(500, 'Internal server error');
    }
    const id = path.split('/')[2] ?? '';
    switch (`${method} ${template}`) {
      case 'get /iso':
        return send(200, this.page(url, 'isos', [...this.isos.values()].map((i) => this.isoView(i))));
      case 'post /iso': {
        const iso = this.addIso(decodeURIComponent(new URL(String(body.url)).pathname.split('/').pop() ?? 'x.iso'), { status: 'pending', size: 0, md5sum: '', sha512sum: '' });
        iso.date_created = new Date().toISOString().replace('Z', '+00:00');
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
        return send(204);
      }
      case 'get /instances': {
        const tag = url.searchParams.get('tag');
        const list = [...this.instances.values()].filter((i) => !tag || i.tags.includes(tag)).map((i) => this.instanceView(i));
        return send(200, this.page(url, 'instances', list));
      }
      case 'post /instances':
        return send(202, { instance: this.instanceView(this.createInstance(body)) });
      case 'get /instances/{instance-id}': {
        const i = this.instances.get(id);
        return i ? send(200, { instance: this.instanceView(i) }) : error(404, 'Invalid instance-id.');
      }
      case 'delete /instances/{instance-id}':
        this.instances.delete(id);
        return send(204);
      case 'get /instances/{instance-id}/iso': {
        const i = this.instances.get(id);
        return i ? send(200, { iso_status: { iso_id: i.isoState === 'attached' ? i.isoId : '', state: i.isoState } }) : error(404, 'Invalid instance-id.');
      }
      case 'post /instances/{instance-id}/iso/detach': {
        const i = this.instances.get(id);
        if (!i) return error(404, 'Invalid instance-id.');
        setTimeout(() => (i.isoState = 'ready'), 50);
        return send(202, { iso_status: { state: 'isunmounting' } });
      }
      case 'post /instances/{instance-id}/start': {
        const i = this.instances.get(id);
        if (!i) return error(404, 'Invalid instance-id.');
        // With the ISO still attached this would boot the installer again.
        i.power_status = 'running';
        i.server_status = i.isoState === 'attached' ? 'installingbooting' : 'ok';
        return send(204);
      }
      default:
        return error(400, `fake: ${method} ${template} not implemented`);
    }
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

  private instanceView(i: FakeInstance) {
    const { isoId: _isoId, isoState: _isoState, request: _request, ...view } = i;
    return {
      ...view,
      os: 'Custom', ram: 2048, disk: 55, vcpu_count: 1, default_password: '', allowed_bandwidth: 2048, netmask_v4: '255.255.254.0',
      gateway_v4: '192.0.2.1', internal_ip: '', kvm: 'https://my.vultr.com/subs/vps/novnc/api.php?data=x', os_id: 159, app_id: 0,
      image_id: '', firewall_group_id: '', features: ['ipv6'], tag: '', user_scheme: 'root',
      v6_networks: i.v6_network ? [{ network: i.v6_network, main_ip: i.v6_main_ip, network_size: i.v6_network_size }] : [],
    };
  }

  private async download(iso: FakeIso, url: string) {
    if (this.faults.stuckPending) return;
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = Buffer.from(await res.arrayBuffer());
      this.downloads.push(url);
      iso.size = data.length;
      iso.md5sum = createHash('md5').update(data).digest('hex');
      iso.sha512sum = this.faults.wrongSha512 ? createHash('sha512').update('corrupted').digest('hex') : createHash('sha512').update(data).digest('hex');
      iso.status = 'complete';
    } catch {
      this.isos.delete(iso.id); // Vultr drops ISOs it cannot fetch
    }
  }

  private createInstance(body: Record<string, unknown>): FakeInstance {
    const n = this.instances.size + 10;
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
      isoId: String(body.iso_id),
      isoState: 'attached',
      request: body,
    };
    this.instances.set(i.id, i);
    // pending → active/running (installing from the ISO) → stopped (the installer powers off).
    setTimeout(() => {
      Object.assign(i, { status: 'active', power_status: 'running', server_status: 'installingbooting', main_ip: `192.0.2.${n}` });
      if (body.enable_ipv6) Object.assign(i, { v6_main_ip: `2001:db8:5:${n.toString(16)}:5400:4ff:fe2a:${n.toString(16)}`, v6_network: `2001:db8:5:${n.toString(16)}::`, v6_network_size: 64 });
    }, 100);
    setTimeout(() => Object.assign(i, { power_status: 'stopped', server_status: 'ok' }), 100 + (this.faults.installMs ?? 500));
    return i;
  }
}
