// If the library already holds a complete ISO of ours (by its file name) with our sha512,
// publishing is done already. Someone else's ISO with the same bytes is not ours to claim: the
// rest of the tool (pruning, vm create --iso latest) would never count it as ours.
import { isOurIsoFileName } from '../../iso/output-name.js';
import type { Step } from '../../pipeline/runner.js';
import { vultrClient } from '../../systems/vultr-api.js';
import type { PublishState } from './state.js';

export const findExisting: Step<PublishState> = {
  title: 'Look for the ISO in the Vultr library',
  async run(state, { signal }) {
    state.vultr = vultrClient(state.options.settings, signal, state.options.trace);
    const sha512 = state.manifest!.iso.sha512;
    const match = (await state.vultr.listIsos()).find((i) => i.status === 'complete' && i.sha512sum?.toLowerCase() === sha512 && isOurIsoFileName(i.filename, state.config!.name));
    if (!match) return 'not there yet';
    state.alreadyInLibrary = match;
    state.iso = match;
    return `already there as ${match.id} (${match.filename}): reusing it, nothing to upload`;
  },
};
