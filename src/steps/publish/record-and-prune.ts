// Record the Vultr ISO in the manifest, then prune: keep the N newest ISOs whose file name
// carries our prefix, never touch any other ISO, and skip one that is still attached to an
// instance (with a warning naming it).
import { writeManifestFile } from '../../iso/manifest.js';
import { isOurIsoFileName } from '../../iso/output-name.js';
import type { Step } from '../../pipeline/runner.js';
import { VultrApiError } from '../../systems/vultr-api.js';
import type { PublishState } from './state.js';

export const recordInManifest: Step<PublishState> = {
  title: 'Record the Vultr ISO in the manifest',
  async run(state) {
    const iso = state.iso!;
    state.manifest!.vultr = { isoId: iso.id, filename: iso.filename, status: iso.status };
    await writeManifestFile(state.manifestPath!, state.manifest!);
    state.createdIsoId = undefined; // published: from now on the ISO is a result, not scratch
    return iso.id;
  },
};

export const pruneIsos: Step<PublishState> = {
  title: 'Prune old ISOs',
  async run(state, { reporter }) {
    const keep = state.options.keep ?? state.config!.publish.keep;
    const prefix = state.config!.name;
    const vultr = state.vultr!;
    const ours = (await vultr.listIsos())
      .filter((i) => isOurIsoFileName(i.filename, prefix))
      .sort((a, b) => Date.parse(b.date_created) - Date.parse(a.date_created));
    const current = state.iso!.id;
    const kept = [current, ...ours.filter((i) => i.id !== current).map((i) => i.id)].slice(0, keep);
    for (const iso of ours.filter((i) => !kept.includes(i.id))) {
      try {
        await vultr.deleteIso(iso.id);
        state.pruned.push(iso.filename);
        reporter.info(`deleted ${iso.filename} (${iso.id})`);
      } catch (error) {
        if (error instanceof VultrApiError && /still attached to/i.test(error.vultrError)) {
          const ip = /attached to\s+(\S+)/i.exec(error.vultrError)?.[1];
          const instance = ip ? (await vultr.listInstances()).find((i) => i.main_ip === ip) : undefined;
          const who = instance ? `instance ${instance.id} (${instance.label || instance.main_ip})` : `the instance at ${ip ?? 'an unknown address'}`;
          reporter.warn(`kept ${iso.filename}: it is still attached to ${who}; detach it there to let it be pruned`);
          state.keptAttached.push(iso.filename);
          continue;
        }
        throw error;
      }
    }
    return `kept ${Math.min(keep, ours.length)}, deleted ${state.pruned.length}${state.keptAttached.length ? `, ${state.keptAttached.length} attached` : ''}`;
  },
};
