// One xorriso pass writes the new ISO under a temporary name in the output directory; it is
// hashed and renamed into place only when complete. On failure or Ctrl-C the temporary file
// (and an ISO this run renamed into place without its manifest) is removed.
import { constants } from 'node:fs';
import { access, mkdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { OperationError, UserInputError } from '../pipeline/errors.js';
import { tempPathFor, writeFileAtomic } from '../pipeline/fs-atomic.js';
import { formatBytes } from '../pipeline/reporter.js';
import type { Step } from '../pipeline/runner.js';
import { TOOL_VERSION } from '../paths.js';
import { replayWithReplacements } from '../systems/xorriso.js';
import type { BuildState, Manifest } from './build-state.js';
import { hashFile } from './hash-file.js';

async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (error) {
    throw new UserInputError(`output directory ${dir} is not writable (${(error as NodeJS.ErrnoException).code}); pass a writable --out-dir`, { cause: error });
  }
}

export const writeIso: Step<BuildState> = {
  title: 'Write ISO (xorriso replay)',
  async run(state, { reporter, signal }) {
    const outDir = resolve(state.options.outDir);
    await ensureWritableDir(outDir);
    const baseSize = (await stat(state.base!.path)).size;
    const fs = await statfs(outDir);
    const free = fs.bavail * fs.bsize;
    const needed = baseSize + 64 * 1024 * 1024;
    if (free < needed) {
      throw new OperationError(`output directory ${outDir} has ${formatBytes(free)} free but the ISO needs about ${formatBytes(needed)}; free some space or pass another --out-dir`);
    }
    state.tempIso = tempPathFor(state.finalIso!);
    try {
      await replayWithReplacements(state.base!.path, state.tempIso, state.replacements!, {
        signal,
        sourceDateEpoch: state.sourceDateEpoch!,
        onProgress: (f) => reporter.progress('writing', Math.round(f * baseSize), baseSize),
      });
    } catch (error) {
      if (signal.aborted) throw error;
      const text = String((error as { stderr?: unknown }).stderr ?? '');
      if (/No space left|ENOSPC/i.test(text)) {
        throw new OperationError(`output directory ${outDir} ran out of space while writing the ISO; free some space or pass another --out-dir`, { cause: error });
      }
      throw new OperationError(`xorriso could not write ${state.finalIso}: ${text.split('\n').filter((l) => /FAILURE|SORRY/.test(l)).at(-1) ?? (error as Error).message}`, { cause: error });
    }
    return formatBytes((await stat(state.tempIso)).size);
  },
  async cleanup(state, { failed }) {
    if (state.tempIso) await rm(state.tempIso, { force: true });
    if (failed && state.isoPlaced && state.manifest === undefined) {
      // The ISO was renamed into place but its manifest did not follow: it would be orphaned.
      await rm(state.finalIso!, { force: true });
    }
  },
};

export const writeManifest: Step<BuildState> = {
  title: 'Hash ISO and write manifest',
  async run(state, { reporter, signal }) {
    const size = (await stat(state.tempIso!)).size;
    const hashes = await hashFile(state.tempIso!, ['sha256', 'sha512'], (done) => reporter.progress('hashing', done, size), signal);
    const manifest: Manifest = {
      name: state.name!,
      toolVersion: TOOL_VERSION,
      inputsHash: state.inputsHash!,
      iso: { path: state.finalIso!, size, sha256: hashes.sha256, sha512: hashes.sha512 },
      base: {
        source: state.base!.source,
        sha512: state.base!.sha512,
        verified: state.base!.verified,
        volumeId: state.report!.volumeId,
        layout: state.layout!.kind,
      },
      bootEntries: state.bootEntries!,
    };
    await rename(state.tempIso!, state.finalIso!);
    state.isoPlaced = true;
    await writeFileAtomic(join(dirname(state.finalIso!), `${state.name}.json`), `${JSON.stringify(manifest, null, 2)}\n`);
    state.manifest = manifest;
    return `sha256 ${hashes.sha256.slice(0, 16)}…`;
  },
};
