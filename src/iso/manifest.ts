// The manifest beside every ISO (iso/out/<name>.json, also what `build --json` prints): the
// contract between build, publish, the nightly and anyone reading the output directory.
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.js';
import { readInputFile } from '../files/read-input.js';
import { CLI_COMMAND } from '../paths.js';
import { UserInputError } from '../pipeline/errors.js';
import type { BootEntry } from './boot-menus.js';

export interface Manifest {
  name: string;
  toolVersion: string;
  inputsHash: string;
  iso: { path: string; size: number; sha256: string; sha512: string };
  base: {
    source: string;
    sha512: string;
    verified: boolean;
    /** Fingerprint of the key whose signature vouched for the base image (verified ones only). */
    signer?: string;
    volumeId: string;
    layout: string;
  };
  bootEntries: BootEntry[];
  /** Added by publish. */
  vultr?: { isoId: string; filename: string; status: string };
  /**
   * Added by publish --attestation (the nightly): the build's provenance attestation of the
   * ISO and of this manifest as build wrote it (so before publish added these fields).
   */
  attestation?: { url: string };
}

export async function writeManifestFile(path: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** A manifest written by build; anything else is bad input naming the file. */
export async function readManifestFile(path: string): Promise<Manifest> {
  const text = await readInputFile(path, {
    what: `manifest ${path}`,
    missing: `pass the <name>.json that ${CLI_COMMAND} build wrote beside its ISO (in iso/out unless --out-dir said otherwise)`,
    directory: `pass one of the <name>.json files in it (publish takes the newest in a directory given as --out-dir)`,
  });
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text.toString('utf8')) as Manifest;
  } catch (error) {
    throw new UserInputError(`manifest ${path} cannot be read as JSON (${(error as Error).message}); pass a manifest written by ${CLI_COMMAND} build`, { cause: error });
  }
  if (!manifest?.iso?.path || !manifest.iso.sha512 || !manifest.name) {
    throw new UserInputError(`manifest ${path} lacks iso.path, iso.sha512 or name; pass a manifest written by ${CLI_COMMAND} build`);
  }
  return manifest;
}

/** The most recently written manifest in an output directory. */
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
  if (!newest) throw new UserInputError(`no manifest in ${dir}; run ${CLI_COMMAND} build first or pass --manifest FILE`);
  return newest.path;
}
