// Room in the library for the new ISO, made before it is registered: Vultr's library holds
// only a few ISOs (2 per account by default), so registering first and pruning afterwards
// fails from the third publish on. checkRoom looks before anything is uploaded, so a library
// that cannot take the ISO fails fast; makeRoom deletes our oldest unattached ISOs right
// before the ISO is registered, only as many as the library's size demands. publish.keep
// waits until the new ISO is verified (pruneIsos): a good ISO of ours goes before that only
// when there is no other place for the new one.
import { describeLibrary, ours, planRoom, roomAdvice, type Library, type RoomPlan } from '../../iso/vultr-library.js';
import { OperationError } from '../../pipeline/errors.js';
import type { Step } from '../../pipeline/runner.js';
import { isGone, VultrApiError, type VultrClient, type VultrIso } from '../../systems/vultr-api.js';
import type { PublishState } from './state.js';

/** The library as it is now, with what each ISO is attached to. */
export async function readLibrary(vultr: VultrClient): Promise<Library> {
  const isos = await vultr.listIsos();
  return { isos, attached: await vultr.attachments() };
}

/** What must go for the new ISO to fit: the library's size only (keep comes after verification). */
function roomFor(state: PublishState, library: Library): RoomPlan {
  const { config } = state;
  return planRoom(library, { prefix: config!.name, keep: Number.POSITIVE_INFINITY, capacity: config!.publish.librarySize, adding: true });
}

export function libraryFullError(state: PublishState, library: Library, full: string): OperationError {
  return new OperationError(`the Vultr ISO library ${full}, so there is no room for ${state.manifest!.name}.iso; ${roomAdvice(library, state.config!.name)}`);
}

export const checkRoom: Step<PublishState> = {
  title: 'Check for room in the Vultr library',
  skip: (state) => (state.alreadyInLibrary ? 'the library has it' : undefined),
  async run(state) {
    const library = await readLibrary(state.vultr!);
    const { remove, full } = roomFor(state, library);
    if (full) throw libraryFullError(state, library, full);
    return remove.length ? `${remove.map((i) => i.filename).join(', ')} will make room` : 'there is room';
  },
};

/**
 * Deletes one of our ISOs; one already gone counts as deleted. False when Vultr says it is
 * attached after all (attached since the library was read).
 */
export async function deleteUnlessAttached(vultr: VultrClient, id: string): Promise<boolean> {
  try {
    await vultr.deleteIso(id);
    return true;
  } catch (error) {
    if (isGone(error)) return true;
    if (error instanceof VultrApiError && /still attached/i.test(error.vultrError)) return false;
    throw error;
  }
}

/** Our complete ISOs that stay when `remove` goes. */
const goodLeft = (library: Library, prefix: string, remove: VultrIso[]) => ours(library, prefix).filter((i) => i.status === 'complete' && !remove.includes(i));

export const makeRoom: Step<PublishState> = {
  title: 'Make room in the Vultr library',
  skip: (state) => (state.alreadyInLibrary ? 'the library has it' : undefined),
  async run(state, { reporter }) {
    const vultr = state.vultr!;
    // Read again: the library may have changed during the upload.
    for (let round = 0; round < 3; round++) {
      const library = await readLibrary(vultr);
      const { remove, full } = roomFor(state, library);
      if (full) throw libraryFullError(state, library, full);
      if (remove.length && goodLeft(library, state.config!.name, remove).length === 0 && goodLeft(library, state.config!.name, []).length > 0) {
        reporter.warn(
          `the library ${describeLibrary(library, { prefix: state.config!.name, capacity: state.config!.publish.librarySize })}, so our last complete ISO must go before the new one is verified; if this publish fails, the library holds none of ours until one succeeds (raise publish.librarySize if Vultr support raised your quota)`,
        );
      }
      let raced = false;
      for (const iso of remove) {
        if (!(await deleteUnlessAttached(vultr, iso.id))) {
          raced = true;
          break;
        }
        state.pruned.push(iso.filename);
        reporter.info(`deleted ${iso.filename} (${iso.id}) to make room`);
      }
      if (!raced) return remove.length ? `deleted ${remove.length}` : 'there was room';
    }
    throw new OperationError('the Vultr ISO library kept changing while room was being made for the new ISO; run publish again');
  },
};
