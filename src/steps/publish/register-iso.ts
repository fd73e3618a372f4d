// POST /v2/iso {url}, then wait until Vultr has downloaded it and compare its sha512 with
// ours. The ISO id is recorded the moment it exists, so a failure or Ctrl-C deletes it.
import { basename } from 'node:path';
import { messageOf, OperationError } from '../../pipeline/errors.js';
import type { Step } from '../../pipeline/runner.js';
import { VultrApiError, type VultrIso } from '../../systems/vultr-api.js';
import { waitFor } from '../../systems/wait-for.js';
import { describeLibrary, roomAdvice } from '../../iso/vultr-library.js';
import { readLibrary } from './library-room.js';
import type { PublishState } from './state.js';

/** The file name Vultr derives from the URL (its last path segment). */
export function isoFilename(url: string): string {
  return decodeURIComponent(basename(new URL(url).pathname));
}

export const registerIso: Step<PublishState> = {
  title: 'Register the ISO with Vultr',
  skip: (state) => (state.alreadyInLibrary ? 'the library has it' : undefined),
  async run(state, { reporter, signal }) {
    const vultr = state.vultr!;
    const url = state.url!;
    const filename = isoFilename(url);
    let iso: VultrIso;
    try {
      iso = await vultr.createIso(url, filename, (error) => reporter.warn(`${error.message}; checking whether the ISO was created anyway`));
    } catch (error) {
      if (!(error instanceof VultrApiError && error.status >= 400 && error.status < 500)) throw error;
      // Most likely a full library (its limit is not in the API): say what fills it.
      const library = await readLibrary(vultr);
      throw new OperationError(
        `Vultr refused to register ${filename} (HTTP ${error.status}${error.vultrError ? `: ${error.vultrError}` : ''}); the library ${describeLibrary(library, { prefix: state.config!.name, capacity: state.config!.publish.librarySize })}; ${roomAdvice(library, state.config!.name)}`,
        { cause: error },
      );
    }
    state.createdIsoId = iso.id;
    reporter.info(`created ISO ${iso.id} (${iso.filename}), Vultr is downloading it`);
    const done = await waitFor<VultrIso>(
      `Vultr to download ISO ${iso.id}`,
      async () => {
        let current: VultrIso;
        try {
          current = await vultr.getIso(iso.id);
        } catch (error) {
          if (error instanceof VultrApiError && error.status === 404) throw new OperationError(`ISO ${iso.id} disappeared from the Vultr library while downloading (HTTP 404); check the URL and try again`);
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
  async cleanup(state, { failed, reporter, signal }) {
    if (!failed || !state.createdIsoId) return;
    try {
      await state.vultr!.withSignal(signal).deleteIso(state.createdIsoId);
      reporter.info(`deleted the unfinished ISO ${state.createdIsoId} from the Vultr library`);
    } catch (error) {
      throw new OperationError(`could not delete ISO ${state.createdIsoId} from the Vultr library (${messageOf(error)}); delete it in the Vultr console`);
    }
  },
};
