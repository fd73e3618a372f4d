// Which ISO to publish: --manifest FILE, or the newest manifest in the output directory. The
// ISO must still be the one its manifest describes.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { UserInputError } from '../../pipeline/errors.js';
import type { Step } from '../../pipeline/runner.js';
import type { Manifest } from '../build-state.js';
import { hashFile } from '../hash-file.js';
import type { PublishState } from './publish-state.js';

export async function newestManifest(outDir: string): Promise<string> {
  const dir = resolve(outDir);
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  } catch {
    // reported below
  }
  const dated = await Promise.all(names.map(async (n) => ({ path: join(dir, n), mtime: (await stat(join(dir, n))).mtimeMs })));
  const newest = dated.sort((a, b) => b.mtime - a.mtime)[0];
  if (!newest) throw new UserInputError(`no manifest in ${dir}; run npm run build-iso first or pass --manifest FILE`);
  return newest.path;
}

export const loadManifest: Step<PublishState> = {
  title: 'Load manifest',
  async run(state, { reporter, signal }) {
    state.config = await loadConfig(state.options.configPath, state.options.env);
    const path = state.options.manifestPath ?? (await newestManifest(state.options.outDir));
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await readFile(path, 'utf8')) as Manifest;
    } catch (error) {
      throw new UserInputError(`manifest ${path} cannot be read as JSON (${(error as Error).message}); pass a manifest written by vultr-sid-iso build`, { cause: error });
    }
    if (!manifest?.iso?.path || !manifest.iso.sha512 || !manifest.name) {
      throw new UserInputError(`manifest ${path} lacks iso.path, iso.sha512 or name; pass a manifest written by vultr-sid-iso build`);
    }
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
