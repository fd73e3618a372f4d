// `--trace FILE`: one JSON line per thing seen while driving Vultr (every API answer, every
// SSH probe of the VM), with a timestamp, so that a run on a real account can be sent in and
// replayed by the test fake (test/helpers/fake-vultr.ts). Only the fields this tool reads are
// kept: never the API key, request bodies (user-data may hold secrets), an instance's
// default_password or its console (kvm) URL.
// A trace is a journal, appended line by line: after a failure or Ctrl-C it holds what
// happened up to then, which is the point of it.
import { appendFileSync, writeFileSync } from 'node:fs';

export type TraceEvent =
  | { kind: 'api'; method: string; path: string; status: number; error?: string; body?: unknown }
  | { kind: 'api-failed'; method: string; path: string; error: string }
  | { kind: 'ssh'; host: string; port: number; banner?: string; error?: string }
  | { kind: 'note'; text: string };

export type TraceLine = TraceEvent & { t: string };

const INSTANCE_FIELDS = ['id', 'label', 'region', 'plan', 'status', 'power_status', 'server_status', 'main_ip', 'v6_main_ip', 'v6_network', 'v6_network_size', 'tags', 'date_created', 'os_id'];
const ISO_FIELDS = ['id', 'filename', 'status', 'size', 'md5sum', 'sha512sum', 'date_created'];
const ISO_STATUS_FIELDS = ['iso_id', 'state'];

const pick = (value: unknown, fields: string[]) =>
  value && typeof value === 'object' ? Object.fromEntries(fields.filter((f) => f in value).map((f) => [f, (value as Record<string, unknown>)[f]])) : value;

/** The parts of an API answer worth keeping (see the allow-lists above); everything else is dropped. */
export function traceBody(body: unknown): unknown {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (b.instance) out.instance = pick(b.instance, INSTANCE_FIELDS);
  if (Array.isArray(b.instances)) out.instances = b.instances.map((i) => pick(i, INSTANCE_FIELDS));
  if (b.iso) out.iso = pick(b.iso, ISO_FIELDS);
  if (Array.isArray(b.isos)) out.isos = b.isos.map((i) => pick(i, ISO_FIELDS));
  if (b.iso_status) out.iso_status = pick(b.iso_status, ISO_STATUS_FIELDS);
  if (b.meta && typeof b.meta === 'object') out.meta = pick(b.meta, ['total', 'links']);
  return Object.keys(out).length ? out : undefined;
}

export class Trace {
  constructor(
    private readonly path: string,
    /** Values that must never reach the file, whatever field they turn up in. */
    private readonly secrets: string[] = [],
  ) {
    writeFileSync(path, '');
  }

  record(event: TraceEvent): void {
    let line = JSON.stringify({ t: new Date().toISOString(), ...event } satisfies TraceLine);
    for (const s of this.secrets) if (s) line = line.split(s).join('***');
    appendFileSync(this.path, `${line}\n`);
  }
}
