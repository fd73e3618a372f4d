// Name the output after every input (tool, xorriso and zlib versions, base image, rendered
// files, boot options), so unchanged inputs give the same name; if that ISO is already there
// and intact, the build is a no-op that says so.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TOOL_VERSION } from '../paths.js';
import type { Reporter } from '../pipeline/reporter.js';
import { artifactsDigest } from '../render/render.js';
import type { BuildState, Manifest } from './build-state.js';
import { hashFile } from './hash-file.js';

export function inputsHash(state: BuildState): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        tool: TOOL_VERSION,
        // The programs that produce the bytes: xorriso writes the image, zlib the initrd member.
        xorriso: state.xorrisoVersion,
        zlib: process.versions.zlib,
        base: state.baseSha512,
        artifacts: artifactsDigest(state.artifacts!),
        boot: state.config!.boot,
        entries: state.bootEntries,
      }),
    )
    .digest('hex');
}

/** Sets name, inputsHash and finalIso; returns the existing manifest of that name if it matches. */
export async function planOutput(state: BuildState): Promise<Manifest | undefined> {
  state.inputsHash = inputsHash(state);
  state.name = `${state.config!.name}-${state.inputsHash.slice(0, 12)}`;
  const outDir = resolve(state.options.outDir);
  state.finalIso = join(outDir, `${state.name}.iso`);
  try {
    const existing = JSON.parse(await readFile(join(outDir, `${state.name}.json`), 'utf8')) as Manifest;
    if (existing.inputsHash === state.inputsHash && (await stat(state.finalIso)).size === existing.iso.size) return existing;
  } catch {
    // no usable earlier build
  }
  return undefined;
}

/** An earlier build of the same inputs counts only if its ISO still has the recorded sha256. */
export async function confirmUpToDate(state: BuildState, existing: Manifest, reporter: Reporter): Promise<boolean> {
  reporter.info(`checking the existing ${state.name}.iso`);
  const { sha256 } = await hashFile(state.finalIso!, ['sha256']);
  if (sha256 !== existing.iso.sha256) {
    reporter.warn(`${state.finalIso} does not match its manifest; building it again`);
    return false;
  }
  state.upToDate = { ...existing, iso: { ...existing.iso, path: state.finalIso! } };
  return true;
}
