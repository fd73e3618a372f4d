// Which ISO to publish: --manifest FILE, or the newest manifest in the output directory. The
// ISO must still be the one its manifest describes. A --url must end in the ISO's own file
// name: Vultr names the ISO after the URL's last path segment (POST /iso takes nothing else),
// and only that name is recognised as ours (pruned later, picked by --iso latest).
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { hashFile } from '../../files/hash-file.js';
import { newestManifest, readManifestFile } from '../../iso/manifest.js';
import { isoFileName } from '../../iso/output-name.js';
import { traceScope } from '../../iso/vultr-library.js';
import { hasCredentials, urlFileName } from '../../net/urls.js';
import { CLI_COMMAND } from '../../paths.js';
import { UserInputError } from '../../pipeline/errors.js';
import type { Step } from '../../pipeline/runner.js';
import type { PublishState } from './state.js';

export const loadManifest: Step<PublishState> = {
  title: 'Load manifest',
  async run(state, { reporter, signal }) {
    state.config = await loadConfig(state.options.configPath, state.options.settings.secrets);
    state.options.trace?.setScope(traceScope(state.config));
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
    if (state.options.url) checkHostedUrl(state.options.url, isoFileName(manifest.name));
    else {
      const size = await stat(manifest.iso.path).then((s) => s.size, () => -1);
      if (size !== manifest.iso.size) {
        throw new UserInputError(`${manifest.iso.path} is missing or not the size its manifest ${path} records; rebuild it with ${CLI_COMMAND} build`);
      }
      const { sha512 } = await hashFile(manifest.iso.path, ['sha512'], (done) => reporter.progress('checking ISO', done, size), signal);
      if (sha512 !== manifest.iso.sha512) {
        throw new UserInputError(`${manifest.iso.path} does not match the sha512 in ${path}; rebuild it with ${CLI_COMMAND} build`);
      }
    }
    return manifest.name;
  },
};

/** --url, before anything is asked of the network: a plain http(s) URL that ends in the ISO's own name. */
function checkHostedUrl(raw: string, expected: string): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserInputError(`--url is not a URL; pass the http(s) URL where ${expected} is hosted`);
  }
  if (!/^https?:$/.test(url.protocol)) throw new UserInputError(`--url must be an http(s) URL (Vultr downloads it), got ${url.protocol}; pass the http(s) URL where ${expected} is hosted`);
  if (hasCredentials(url)) throw new UserInputError('--url carries credentials (user:password@ in the URL), which would end up in logs; host the ISO where Vultr can fetch it without them');
  const name = urlFileName(url);
  if (name !== expected) {
    throw new UserInputError(
      `--url ends in "${name}", but Vultr names the ISO after the URL's file name and only ${expected} is recognised as this build (pruned later, picked by --iso latest); host it under the name ${expected}`,
    );
  }
}
