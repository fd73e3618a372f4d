// The account's ISO library as publish sees it: which ISOs are ours (iso/output-name.ts's
// rule), which are attached to an instance, and which of ours must go so that the new one
// fits both publish.keep and the library's size (Vultr holds 2 ISOs per account unless
// support raised it: docs/publishing.md, "How Vultr really behaves"). Never anyone else's
// ISO, never an attached one.
import type { Config } from '../config/schema.js';
import { CLI_COMMAND } from '../paths.js';
import { isOurIsoFileName } from './output-name.js';
import { describeInstance, type VultrInstance, type VultrIso } from '../systems/vultr-api.js';
import type { TraceScope } from '../systems/vultr-trace.js';

export interface Library {
  isos: VultrIso[];
  /** ISO id → the instances it is attached to. */
  attached: Map<string, VultrInstance[]>;
}

export interface RoomRules {
  /** Our ISO name prefix (config.name). */
  prefix: string;
  /** How many of ours may stay, counting the one being added. */
  keep: number;
  /** How many ISOs the library holds in all. */
  capacity: number;
  /** A new ISO is about to be registered (it needs a place of its own). */
  adding: boolean;
  /** ISOs that stay whatever the rules say (the one just published). */
  pinned?: string[];
}

export interface RoomPlan {
  /** Ours to delete, oldest first. */
  remove: VultrIso[];
  /** Ours the rules would delete but an instance has attached. */
  attachedKept: VultrIso[];
  /** Set when the rules cannot be met: the library's contents, for the error message. */
  full?: string;
}

const newestFirst = (a: VultrIso, b: VultrIso) => Date.parse(b.date_created) - Date.parse(a.date_created);

/** What a --trace may record in full: our ISOs, and instances carrying our tag (the first of vm.tags). */
export function traceScope(config: Pick<Config, 'name' | 'vm'>): TraceScope {
  return { isOurIso: (filename) => isOurIsoFileName(filename, config.name), tag: config.vm.tags[0] ?? '' };
}

export function ours(library: Library, prefix: string): VultrIso[] {
  return library.isos.filter((i) => isOurIsoFileName(i.filename, prefix)).sort(newestFirst);
}

/**
 * Which of ours to delete: first those beyond the newest `keep` (counting the one being
 * added), then, if the library still has no place for the new one, more of ours: unfinished
 * ones first, then from the oldest. Attached ISOs stay (they cannot be deleted), and do not count against keep: a
 * long-lived VM holding an old ISO must not cost the previous good one its place.
 */
export function planRoom(library: Library, rules: RoomRules): RoomPlan {
  const mine = ours(library, rules.prefix);
  const pinned = new Set(rules.pinned ?? []);
  const deletable = (iso: VultrIso) => !pinned.has(iso.id) && !library.attached.has(iso.id);
  const keepSlots = rules.keep - (rules.adding ? 1 : 0) - mine.filter((i) => pinned.has(i.id)).length;
  const remove: VultrIso[] = [];
  const attachedKept: VultrIso[] = [];
  // Newest first: the first keepSlots unpinned ones stay, the rest go unless attached.
  mine.filter((i) => !pinned.has(i.id)).forEach((iso, n) => {
    if (n < keepSlots) return;
    if (library.attached.has(iso.id)) attachedKept.push(iso);
    else remove.push(iso);
  });
  const fits = () => !rules.adding || library.isos.length - remove.length + 1 <= rules.capacity;
  // Ours that Vultr never finished (stuck pending, failed) go first, then the oldest: a good one
  // is never deleted while a broken one holds a place.
  const brokenFirst = [...mine].reverse().sort((a, b) => Number(a.status === 'complete') - Number(b.status === 'complete'));
  for (const iso of brokenFirst) {
    if (fits()) break;
    if (deletable(iso) && !remove.includes(iso)) remove.push(iso);
  }
  remove.sort((a, b) => newestFirst(b, a));
  return { remove, attachedKept, ...(fits() ? {} : { full: describeLibrary(library, rules) }) };
}

/** "holds 2 of 2: vultr-sid-0123456789ab.iso (ours, attached to instance 5f… (web, 192.0.2.7)), rescue.iso (not ours)". */
export function describeLibrary(library: Library, rules: Pick<RoomRules, 'prefix' | 'capacity'>): string {
  const items = [...library.isos].sort(newestFirst).map((iso) => {
    const owner = isOurIsoFileName(iso.filename, rules.prefix) ? 'ours' : 'not ours';
    const holders = library.attached.get(iso.id) ?? [];
    return `${iso.filename} (${owner}${holders.length ? `, attached to ${holders.map(describeInstance).join(' and ')}` : ''})`;
  });
  return `holds ${library.isos.length} of ${rules.capacity}${items.length ? `: ${items.join(', ')}` : ''}`;
}

/** What to do about a full library: one fix per thing that fills it. */
export function roomAdvice(library: Library, prefix: string): string {
  const attachedOurs = ours(library, prefix).flatMap((iso) => library.attached.get(iso.id) ?? []);
  const fixes = [
    ...attachedOurs.map((i) => `detach ours with \`${CLI_COMMAND} vm detach ${i.id}\``),
    ...(library.isos.some((i) => !isOurIsoFileName(i.filename, prefix)) ? ['delete an ISO that is not ours in the Vultr console'] : []),
    'or raise publish.librarySize if Vultr support raised your quota',
  ];
  return fixes.join(', ');
}
