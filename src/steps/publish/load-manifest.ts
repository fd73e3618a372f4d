// Which ISO to publish: --manifest FILE, or the newest manifest in the output directory. The
// ISO must still be the one its manifest describes.
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { hashFile } from '../../files/hash-file.js';
import { newestManifest, readManifestFile } from '../../iso/manifest.js';
import { isoFileName } from '../../iso/output-name.js';
import { UserInputError } from '../../pipeline/errors.js';
import type { Step } from '../../pipeline/runner.js';
import type { PublishState } from './state.js';

export const loadManifest: Step<PublishState> = {
  title: 'Load manifest',
  async run(state, { reporter, signal }) {
    state.config = await loadConfig(state.options.configPath, state.options.settings.secrets);
    const path = state.options.manifestPath ?? (await newestManifest(state.options.outDir));
    const manifest = await readManifestFile(path);
    if (manifest.base?.verified !== true && !state.options.allowUnverified) {
      throw new UserInputError(
        `manifest ${path} says its ISO was built from a base image whose origin was not verified (${manifest.base?.source ?? 'unknown'}); build from Debian's signed image (base.url, or --base-iso URL), or pass --allow-unverified if you vouch for it`,
      );
    }
    // A manifest moved with its ISO (an artifact downloaded elsewhere) still finds it beside itself.
    const beside = join(dirname(path), isoFileName(manifest.name));
    if (!existsSync(manifest.iso.path) && existsSync(beside)) manifest.iso.path = beside;
    state.manifestPath = path;
    state.manifest = manifest;
    if (!state.options.url) {
      const size = await stat(manifest.iso.path).then((s) => s.size, () => -1);
      if (size !== manifest.iso.size) {
        throw new UserInputError(`${manifest.iso.path} is missing or not the size its manifest ${path} records; rebuild it with npm run build-iso`);
      }
      const { sha512 } = await hashFile(manifest.iso.path, ['sha512'], (done) => reporter.progress('checking ISO', done, size), signal);
      if (sha512 !== manifest.iso.sha512) {
        throw new UserInputError(`${manifest.iso.path} does not match the sha512 in ${path}; rebuild it with npm run build-iso`);
      }
    }
    return manifest.name;
  },
};
