// If the library already holds a complete ISO with our sha512, publishing is done already.
import type { Step } from '../../pipeline/runner.js';
import { vultrClient } from '../../systems/vultr-api.js';
import type { PublishState } from './state.js';

export const findExisting: Step<PublishState> = {
  title: 'Look for the ISO in the Vultr library',
  async run(state, { signal }) {
    state.vultr = vultrClient(state.options.settings, signal, state.options.trace);
    const sha512 = state.manifest!.iso.sha512;
    const match = (await state.vultr.listIsos()).find((i) => i.status === 'complete' && i.sha512sum?.toLowerCase() === sha512);
    if (!match) return 'not there yet';
    state.alreadyInLibrary = match;
    state.iso = match;
    return `already there as ${match.id} (${match.filename}): reusing it, nothing to upload`;
  },
};
