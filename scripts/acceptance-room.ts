// A slot in the library for the acceptance run's own ISO, when it has no ISO from publish to
// use (the nightly's publish was not asked for). The library holds only a few ISOs (2 unless
// Vultr raised the quota) and the nightly keeps it full of ours, so the run frees one: our
// oldest ISO that no instance has attached, never our newest, never anyone else's. It looks
// before building (a library that cannot make room fails the run at once) and deletes right
// before publishing, and says which; the next publish fills the library again. Its own
// leftovers (<name>-acc-*) count as free: its publish (keep 1) deletes them itself.
import { isOurIsoFileName } from '../src/iso/output-name.js';
import { ours, planRoom, roomAdvice, type Library, type RoomPlan } from '../src/iso/vultr-library.js';
import { OperationError } from '../src/pipeline/errors.js';
import { readLibrary } from '../src/steps/publish/library-room.js';
import type { VultrClient } from '../src/systems/vultr-api.js';

export interface SlotRules {
  /** The nightly's ISO name prefix (the config's name). */
  prefix: string;
  /** The acceptance run's own prefix (<name>-acc). */
  accPrefix: string;
  /** How many ISOs the library holds (publish.librarySize). */
  capacity: number;
}

/** Which of ours must go so that the acceptance ISO fits; `full` when none may. */
export function planAcceptanceSlot(library: Library, rules: SlotRules): RoomPlan {
  const leftover = (id: string, filename: string) => isOurIsoFileName(filename, rules.accPrefix) && !library.attached.has(id);
  const rest: Library = { isos: library.isos.filter((i) => !leftover(i.id, i.filename)), attached: library.attached };
  const newest = ours(rest, rules.prefix)[0];
  return planRoom(rest, { prefix: rules.prefix, keep: Number.POSITIVE_INFINITY, capacity: rules.capacity, adding: true, pinned: newest ? [newest.id] : [] });
}

async function plannedSlot(vultr: VultrClient, rules: SlotRules): Promise<RoomPlan> {
  const library = await readLibrary(vultr);
  const plan = planAcceptanceSlot(library, rules);
  if (plan.full) throw new OperationError(`the Vultr ISO library ${plan.full}, so there is no room for the acceptance ISO; ${roomAdvice(library, rules.prefix)}`);
  return plan;
}

/** Before the build: fails at once if no slot can be had; otherwise says what will be freed. */
export async function checkAcceptanceSlot(vultr: VultrClient, rules: SlotRules): Promise<string> {
  const { remove } = await plannedSlot(vultr, rules);
  return remove.length
    ? `the library is full: ${remove.map((i) => i.filename).join(', ')} (ours, the oldest) will be deleted right before the acceptance ISO is published`
    : 'the library has room for the acceptance ISO';
}

/** Right before the acceptance publish: deletes what must go (the library is read again), saying so. */
export async function freeAcceptanceSlot(vultr: VultrClient, rules: SlotRules, say: (line: string) => void): Promise<string[]> {
  const { remove } = await plannedSlot(vultr, rules);
  for (const iso of remove) {
    await vultr.deleteIso(iso.id);
    say(`deleted ${iso.filename} (${iso.id}), the oldest of ours, to make room for the acceptance ISO; the next publish fills the library again`);
  }
  return remove.map((i) => i.filename);
}
