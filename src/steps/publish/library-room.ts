// Room in the library for the new ISO, made before it is registered: Vultr's library holds
// only a few ISOs (2 per account by default), so registering first and pruning afterwards
// fails from the third publish on. checkRoom looks before anything is uploaded, so a library
// that cannot take the ISO fails fast; makeRoom deletes our oldest unattached ISOs right
// before the ISO is registered, only as many as it must.
import { planRoom, roomAdvice, type Library, type RoomPlan } from '../../iso/vultr-library.js';
import { OperationError } from '../../pipeline/errors.js';
import type { Step } from '../../pipeline/runner.js';
import { VultrApiError, type VultrClient } from '../../systems/vultr-api.js';
import type { PublishState } from './state.js';

/** The library as it is now, with what each ISO is attached to. */
export async function readLibrary(vultr: VultrClient): Promise<Library> {
  const isos = await vultr.listIsos();
  return { isos, attached: await vultr.attachments() };
}

function plan(state: PublishState, library: Library, adding: boolean): RoomPlan {
  const { config, options } = state;
  return planRoom(library, {
    prefix: config!.name,
    keep: options.keep ?? config!.publish.keep,
    capacity: config!.publish.librarySize,
    adding,
    pinned: state.iso ? [state.iso.id] : [],
  });
}

export function libraryFullError(state: PublishState, library: Library, full: string): OperationError {
  return new OperationError(`the Vultr ISO library ${full}, so there is no room for ${state.manifest!.name}.iso; ${roomAdvice(library, state.config!.name)}`);
}

export const checkRoom: Step<PublishState> = {
  title: 'Check for room in the Vultr library',
  skip: (state) => (state.alreadyInLibrary ? 'the library has it' : undefined),
  async run(state) {
    const library = await readLibrary(state.vultr!);
    const { remove, full } = plan(state, library, true);
    if (full) throw libraryFullError(state, library, full);
    return remove.length ? `${remove.map((i) => i.filename).join(', ')} will make room` : 'there is room';
  },
};

/**
 * Deletes one of our ISOs. False when Vultr says it is attached after all (attached since
 * the library was read); the caller looks again.
 */
async function deleteUnlessAttached(vultr: VultrClient, id: string): Promise<boolean> {
  try {
    await vultr.deleteIso(id);
    return true;
  } catch (error) {
    if (error instanceof VultrApiError && /still attached/i.test(error.vultrError)) return false;
    throw error;
  }
}

export const makeRoom: Step<PublishState> = {
  title: 'Make room in the Vultr library',
  skip: (state) => (state.alreadyInLibrary ? 'the library has it' : undefined),
  async run(state, { reporter }) {
    const vultr = state.vultr!;
    // Read again: the library may have changed during the upload.
    for (let round = 0; round < 3; round++) {
      const library = await readLibrary(vultr);
      const { remove, full } = plan(state, library, true);
      if (full) throw libraryFullError(state, library, full);
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
