// Read the base ISO's boot layout (no extraction) and recognise it; refuse anything that is
// not a Debian amd64 netinst or mini.iso, or that is cut short.
import { bootEntries } from '../../iso/boot-menus.js';
import { detectLayout, PROBE_PATHS } from '../../iso/layout.js';
import { readVolumeHeader } from '../../iso/volume.js';
import { UserInputError } from '../../pipeline/errors.js';
import { formatBytes } from '../../pipeline/reporter.js';
import type { Step } from '../../pipeline/runner.js';
import { inspectIso, modificationEpoch } from '../../systems/xorriso.js';
import type { BuildState } from './state.js';

export const inspectBase: Step<BuildState> = {
  title: 'Inspect base ISO',
  async run(state, { signal }) {
    const base = state.base!;
    const header = await readVolumeHeader(base.path);
    if (!header) {
      throw new UserInputError(`base ISO ${base.source} is not an ISO 9660 image; pass a Debian amd64 netinst or mini.iso with --base-iso`);
    }
    if (header.fileSize < header.declaredSize) {
      throw new UserInputError(
        `base ISO ${base.source} is truncated: ${formatBytes(header.fileSize)} of the ${formatBytes(header.declaredSize)} its filesystem declares; download it again`,
      );
    }
    const report = await inspectIso(base.path, PROBE_PATHS, { signal });
    state.report = report;
    state.layout = detectLayout(report, base.source);
    state.bootEntries = bootEntries(state.layout, state.config!.boot);
    // Timestamps in the output come from the base ISO, never from the clock.
    state.sourceDateEpoch = modificationEpoch(report.asMkisofs) ?? 0;
    return `${state.layout.kind} layout, volume "${report.volumeId}"`;
  },
};
