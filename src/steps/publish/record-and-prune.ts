// Record the Vultr ISO in the manifest, then prune: keep the publish.keep newest of our ISOs
// (the new one included), never touch anyone else's, and keep one that is attached to an
// instance (with a warning naming it and how to detach it).
import { writeManifestFile } from '../../iso/manifest.js';
import { planRoom } from '../../iso/vultr-library.js';
import type { Step } from '../../pipeline/runner.js';
import { describeInstance, VultrApiError } from '../../systems/vultr-api.js';
import { readLibrary } from './library-room.js';
import type { PublishState } from './state.js';

export const recordInManifest: Step<PublishState> = {
  title: 'Record the Vultr ISO in the manifest',
  async run(state) {
    const iso = state.iso!;
    state.manifest!.vultr = { isoId: iso.id, filename: iso.filename, status: iso.status };
    if (state.options.attestationUrl) state.manifest!.attestation = { url: state.options.attestationUrl };
    await writeManifestFile(state.manifestPath!, state.manifest!);
    state.createdIsoId = undefined; // published: from now on the ISO is a result, not scratch
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
        `kept ${iso.filename}: it is still attached to ${holders.map(describeInstance).join(' and ')}; detach it with ${holders.map((h) => `vultr-sid-iso vm detach ${h.id}`).join(' and ')} to let it be pruned`,
      );
      state.keptAttached.push(iso.filename);
    }
    for (const iso of plan.remove) {
      try {
        await vultr.deleteIso(iso.id);
      } catch (error) {
        if (!(error instanceof VultrApiError && /still attached/i.test(error.vultrError))) throw error;
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
