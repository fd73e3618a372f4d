// POST /v2/iso {url}, then wait until Vultr has downloaded it and compare its sha512 with
// ours. Before the POST the ISOs already there are noted (PendingCreate): whatever happens to
// its answer (lost, 5xx, Ctrl-C), the ISO it made can be found again among the new ones, so a
// failure or Ctrl-C deletes it, or names it with the command that does.
import { CLI_COMMAND } from '../../paths.js';
import { messageOf, OperationError } from '../../pipeline/errors.js';
import type { Leftovers } from '../../pipeline/leftovers.js';
import type { Step } from '../../pipeline/runner.js';
import { isGone, settleWindow, VultrApiError, type VultrIso } from '../../systems/vultr-api.js';
import { waitFor } from '../../systems/wait-for.js';
import { isoFileName } from '../../iso/output-name.js';
import { describeLibrary, roomAdvice } from '../../iso/vultr-library.js';
import { findUnanswered, removeDuplicates } from '../unanswered-create.js';
import { readLibrary } from './library-room.js';
import type { PublishState } from './state.js';

const removeIso = (id: string) => `remove it with: ${CLI_COMMAND} iso delete ${id}`;

/** The ledger's line for the ISO, as far as the run knows it. */
function noteIso(leftovers: Leftovers, state: PublishState, iso?: VultrIso): void {
  const text = iso
    ? state.createdIsoId
      ? `ISO ${iso.id} (${iso.filename}) is unfinished; ${removeIso(iso.id)}`
      : `ISO ${iso.id} (${iso.filename}) is published and recorded in ${state.manifestPath}; ${removeIso(iso.id)}`
    : `POST /iso got no clear answer, so Vultr may have made ${state.pendingIso!.what}; find it with ${CLI_COMMAND} iso list and ${removeIso('ID')}`;
  leftovers.set('iso', text);
}

export const registerIso: Step<PublishState> = {
  title: 'Register the ISO with Vultr',
  skip: (state) => (state.alreadyInLibrary ? 'the library has it' : undefined),
  async run(state, { reporter, signal, leftovers }) {
    const vultr = state.vultr!;
    const url = state.url!;
    const filename = isoFileName(state.manifest!.name);
    state.pendingIso = await vultr.pendingIso(filename);
    noteIso(leftovers, state);
    let iso: VultrIso;
    try {
      iso = await vultr.createIso(url, state.pendingIso, {
        ...settleWindow(state.options.pollIntervalMs),
        onUncertain: (error) => reporter.warn(`${error.message}; checking whether the ISO was created anyway`),
      });
    } catch (error) {
      if (!(error instanceof VultrApiError && error.status >= 400 && error.status < 500)) throw error;
      // Refused: this attempt made nothing. Most likely a full library (its limit is not in the
      // API): say what fills it. An earlier attempt that went unanswered may have made it full,
      // so then the cleanup still looks for what it made.
      if (!state.pendingIso.uncertain) {
        state.pendingIso = undefined;
        leftovers.delete('iso');
      }
      const library = await readLibrary(vultr);
      throw new OperationError(
        `Vultr refused to register ${filename} (HTTP ${error.status}${error.vultrError ? `: ${error.vultrError}` : ''}); the library ${describeLibrary(library, { prefix: state.config!.name, capacity: state.config!.publish.librarySize })}; ${roomAdvice(library, state.config!.name)}`,
        { cause: error },
      );
    }
    state.createdIsoId = iso.id;
    // Kept when an attempt went unanswered: the cleanup then looks for a second one it made.
    if (!state.pendingIso.uncertain) state.pendingIso = undefined;
    noteIso(leftovers, state, iso);
    reporter.info(`created ISO ${iso.id} (${iso.filename}), Vultr is downloading it`);
    const done = await waitFor<VultrIso>(
      `Vultr to download ISO ${iso.id}`,
      async () => {
        let current: VultrIso;
        try {
          current = await vultr.getIso(iso.id);
        } catch (error) {
          if (isGone(error)) throw new OperationError(`ISO ${iso.id} disappeared from the Vultr library while downloading (HTTP 404); check the URL and try again`);
          throw error;
        }
        if (current.status === 'complete') return { done: current };
        if (current.status !== 'pending') throw new OperationError(`ISO ${iso.id} has the unknown status "${current.status}"; check the Vultr console`);
        return { state: current.status };
      },
      { intervalMs: state.options.pollIntervalMs, timeoutMs: state.options.timeoutMs, signal, reporter },
    );
    state.iso = done;
    const theirs = done.sha512sum?.toLowerCase();
    if (theirs !== state.manifest!.iso.sha512) {
      throw new OperationError(`Vultr's sha512 of ISO ${iso.id} (${theirs?.slice(0, 16) ?? 'none'}…) differs from ours (${state.manifest!.iso.sha512.slice(0, 16)}…): the download was corrupted, so the ISO is deleted`);
    }
    return `${iso.id} complete, sha512 matches`;
  },
  async cleanup(state, ctx) {
    const { reporter, leftovers } = ctx;
    const vultr = state.vultr!.withSignal(ctx.signal);
    if (ctx.failed && !state.createdIsoId && !state.iso) {
      await findUnanswered(state.pendingIso, { vultr, key: 'iso', pollIntervalMs: state.options.pollIntervalMs }, ctx, (iso) => {
        state.createdIsoId = iso.id;
        noteIso(leftovers, state, iso);
      });
    }
    // The one the run made, unfinished (createdIsoId) or published and handed over (state.iso),
    // is dealt with on its own; anything else a lost answer made goes.
    await removeDuplicates(state.pendingIso, state.createdIsoId ?? state.iso?.id, {
      vultr,
      describe: (iso) => `ISO ${iso.id} (${iso.filename})`,
      remove: async (iso) => {
        await vultr.deleteIso(iso.id).catch((error: unknown) => {
          if (!isGone(error)) throw error;
        });
      },
      command: (id) => `${CLI_COMMAND} iso delete ${id}`,
    }, ctx);
    if (!ctx.failed) return;
    const id = state.createdIsoId;
    if (!id) return;
    try {
      await vultr.deleteIso(id);
    } catch (error) {
      if (!isGone(error)) throw new OperationError(`could not delete ISO ${id} from the Vultr library (${messageOf(error)}); ${removeIso(id)}`);
    }
    leftovers.delete('iso');
    reporter.info(`deleted the unfinished ISO ${id} from the Vultr library`);
  },
};
