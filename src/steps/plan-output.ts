// Name the output after every input (tool version, base image, rendered files, boot
// options), so unchanged inputs give the same name; if that ISO is already there and intact,
// the build is a no-op that says so.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TOOL_VERSION } from '../paths.js';
import type { Step } from '../pipeline/runner.js';
import { artifactsDigest } from '../render/render.js';
import type { BuildState, Manifest } from './build-state.js';
import { hashFile } from './hash-file.js';

export function inputsHash(state: BuildState): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        tool: TOOL_VERSION,
        base: state.base!.sha512,
        artifacts: artifactsDigest(state.artifacts!),
        boot: state.config!.boot,
        entries: state.bootEntries,
      }),
    )
    .digest('hex');
}

export const planOutput: Step<BuildState> = {
  title: 'Plan output',
  async run(state, { reporter }) {
    state.inputsHash = inputsHash(state);
    state.name = `${state.config!.name}-${state.inputsHash.slice(0, 12)}`;
    const outDir = resolve(state.options.outDir);
    state.finalIso = join(outDir, `${state.name}.iso`);
    let existing: Manifest | undefined;
    try {
      existing = JSON.parse(await readFile(join(outDir, `${state.name}.json`), 'utf8')) as Manifest;
    } catch {
      return state.name;
    }
    if (existing.inputsHash !== state.inputsHash) return state.name;
    try {
      if ((await stat(state.finalIso)).size !== existing.iso.size) return state.name;
    } catch {
      return state.name;
    }
    reporter.info(`checking the existing ${state.name}.iso`);
    const { sha256 } = await hashFile(state.finalIso, ['sha256']);
    if (sha256 !== existing.iso.sha256) return state.name;
    state.upToDate = { ...existing, iso: { ...existing.iso, path: state.finalIso } };
    return `${state.name} is up to date: nothing to do`;
  },
};
