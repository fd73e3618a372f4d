// `--trace FILE`: one JSON line per thing seen while driving Vultr (every API answer, every
// SSH probe of the VM), with a timestamp, so that a run on a real account can be sent in and
// replayed by the test fake (test/helpers/fake-vultr.ts). A trace may end up in a downloadable
// CI artifact, so it tells no more than it must: only the fields this tool reads, only of our
// ISOs (by file name) and our instances (by tag); anything else in a list is left out, or kept
// as its id alone (an instance whose ISO is asked for), so no one else's labels, file names
// or addresses. Never the API key, a masked value (a presigned URL), request bodies (user-data
// may hold secrets), an instance's default_password or its console (kvm) URL.
// A trace is a journal, appended line by line: after a failure or Ctrl-C it holds what
// happened up to then, which is the point of it.
import { appendFileSync, writeFileSync } from 'node:fs';

export type TraceEvent =
  | { kind: 'api'; method: string; path: string; status: number; error?: string; body?: unknown }
  | { kind: 'api-failed'; method: string; path: string; error: string }
  | { kind: 'ssh'; host: string; port: number; banner?: string; error?: string }
  | { kind: 'note'; text: string };

export type TraceLine = TraceEvent & { t: string };

/** What is ours: ISOs by file name, instances by tag. */
export interface TraceScope {
  isOurIso(filename: string): boolean;
  tag: string;
}

const INSTANCE_FIELDS = ['id', 'label', 'region', 'plan', 'status', 'power_status', 'server_status', 'main_ip', 'v6_main_ip', 'v6_network', 'v6_network_size', 'tags', 'date_created', 'os_id'];
const ISO_FIELDS = ['id', 'filename', 'status', 'size', 'md5sum', 'sha512sum', 'date_created'];

type Fields = Record<string, unknown>;
const pick = (value: Fields, fields: string[]) => Object.fromEntries(fields.filter((f) => f in value).map((f) => [f, value[f]]));
const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null;

/** Until a command says what is ours, nothing is. */
const NOTHING_IS_OURS: TraceScope = { isOurIso: () => false, tag: '' };

/** Chooses, from API answers, what a trace may keep (see the file's comment). */
class TraceFilter {
  /** Our ISOs' ids, learnt from the answers that named them: an instance's ISO status may show one. */
  private readonly ourIsos = new Set<string>();
  scope = NOTHING_IS_OURS;

  private iso(value: unknown): Fields | undefined {
    if (!isObject(value) || typeof value.filename !== 'string' || !this.scope.isOurIso(value.filename)) return undefined;
    this.ourIsos.add(String(value.id));
    return pick(value, ISO_FIELDS);
  }

  private instance(value: unknown): Fields | undefined {
    if (!isObject(value)) return undefined;
    const ours = Array.isArray(value.tags) && this.scope.tag !== '' && value.tags.includes(this.scope.tag);
    return ours ? pick(value, INSTANCE_FIELDS) : { id: value.id };
  }

  body(body: unknown): unknown {
    if (!isObject(body)) return undefined;
    const out: Fields = {};
    if (body.instance) out.instance = this.instance(body.instance);
    if (Array.isArray(body.instances)) out.instances = body.instances.map((i) => this.instance(i));
    if (body.iso) out.iso = this.iso(body.iso) ?? (isObject(body.iso) ? { id: body.iso.id } : undefined);
    if (Array.isArray(body.isos)) out.isos = body.isos.map((i) => this.iso(i)).filter(Boolean);
    if (isObject(body.iso_status)) {
      const { iso_id, state } = body.iso_status;
      out.iso_status = { state, ...(typeof iso_id === 'string' && this.ourIsos.has(iso_id) ? { iso_id } : {}) };
    }
    if (isObject(body.meta)) out.meta = pick(body.meta, ['total', 'links']);
    return Object.keys(out).length ? out : undefined;
  }
}

export class Trace {
  private readonly filter = new TraceFilter();

  constructor(
    private readonly path: string,
    /** Hides every value that must never reach the file (the reporter's masked values). */
    private readonly redact: (text: string) => string = (text) => text,
  ) {
    writeFileSync(path, '');
  }

  /** What is ours, once the config says (before the first API call). */
  setScope(scope: TraceScope): void {
    this.filter.scope = scope;
  }

  record(event: TraceEvent): void {
    const kept = event.kind === 'api' && event.body !== undefined ? { ...event, body: this.filter.body(event.body) } : event;
    appendFileSync(this.path, `${this.redact(JSON.stringify({ t: new Date().toISOString(), ...kept } satisfies TraceLine))}\n`);
  }
}
