// Record the Vultr ISO in the manifest, then prune: keep the publish.keep newest of our ISOs
// (the new one included), never touch anyone else's, and keep one that is attached to an
// instance (with a warning naming it and how to detach it). Only now, with the new ISO
// verified, does keep remove a good ISO of ours.
import { writeManifestFile } from '../../iso/manifest.js';
import { planRoom } from '../../iso/vultr-library.js';
import { CLI_COMMAND } from '../../paths.js';
import type { Step } from '../../pipeline/runner.js';
import { describeInstance } from '../../systems/vultr-api.js';
import { deleteUnlessAttached, readLibrary } from './library-room.js';
import type { PublishState } from './state.js';

export const recordInManifest: Step<PublishState> = {
  title: 'Record the Vultr ISO in the manifest',
  async run(state, { leftovers }) {
    const iso = state.iso!;
    state.manifest!.vultr = { isoId: iso.id, filename: iso.filename, status: iso.status };
    if (state.options.attestationUrl) state.manifest!.attestation = { url: state.options.attestationUrl };
    await writeManifestFile(state.manifestPath!, state.manifest!);
    if (state.createdIsoId) {
      // Published: from now on the ISO is a result, not scratch (still named if the run is cut short).
      state.createdIsoId = undefined;
      leftovers.set('iso', `ISO ${iso.id} (${iso.filename}) is published and recorded in ${state.manifestPath}; remove it with: ${CLI_COMMAND} iso delete ${iso.id}`);
    }
    return iso.id;
  },
};

export const pruneIsos: Step<PublishState> = {
  title: 'Prune old ISOs',
  async run(state, { reporter }) {
    const vultr = state.vultr!;
    const keep = state.options.keep ?? state.config!.publish.keep;
    const library = await readLibrary(vultr);
    const plan = planRoom(library, { prefix: state.config!.name, keep, capacity: Number.POSITIVE_INFINITY, adding: false, pinned: [state.iso!.id] });
    for (const iso of plan.attachedKept) {
      const holders = library.attached.get(iso.id) ?? [];
      reporter.warn(
        `kept ${iso.filename}: it is still attached to ${holders.map(describeInstance).join(' and ')}; detach it with ${holders.map((h) => `${CLI_COMMAND} vm detach ${h.id}`).join(' and ')} to let it be pruned`,
      );
      state.keptAttached.push(iso.filename);
    }
    for (const iso of plan.remove) {
      if (!(await deleteUnlessAttached(vultr, iso.id))) {
        reporter.warn(`kept ${iso.filename}: it was attached to an instance meanwhile`);
        state.keptAttached.push(iso.filename);
        continue;
      }
      state.pruned.push(iso.filename);
      reporter.info(`deleted ${iso.filename} (${iso.id})`);
    }
    return `deleted ${plan.remove.length}${plan.attachedKept.length ? `, kept ${plan.attachedKept.length} attached` : ''}`;
  },
};
