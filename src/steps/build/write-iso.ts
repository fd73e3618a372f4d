// One xorriso pass writes the new ISO to a temporary file in the output directory, hashed
// on another thread as the file grows. Meanwhile the base image's hash finishes on
// another core, which names the output; if an identical ISO already exists the write is
// stopped and the build is a no-op. The ISO is renamed into place only with its manifest;
// on failure or Ctrl-C nothing partial is left.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileIdentity } from '../../files/digest-memo.js';
import { hashFile } from '../../files/hash-file.js';
import { HashWorker } from '../../files/hash-worker.js';
import { readManifestFile, writeManifestFile, type Manifest } from '../../iso/manifest.js';
import { inputsHash, isoFileName, manifestFileName, outputName } from '../../iso/output-name.js';
import { readVolumeHeader } from '../../iso/volume.js';
import { TOOL_VERSION } from '../../paths.js';
import { OperationError, UserInputError } from '../../pipeline/errors.js';
import { formatBytes, type Reporter } from '../../pipeline/reporter.js';
import type { Step } from '../../pipeline/runner.js';
import { artifactsDigest } from '../../render/artifacts.js';
import { replayToFile } from '../../systems/xorriso.js';
import type { BuildState } from './state.js';

async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (error) {
    throw new UserInputError(`output directory ${dir} is not writable (${(error as NodeJS.ErrnoException).code}); pass a writable --out-dir`, { cause: error });
  }
}

/** Sets name, inputsHash and finalIso; returns the existing manifest of that name if it matches. */
async function planOutput(state: BuildState): Promise<Manifest | undefined> {
  state.inputsHash = inputsHash({
    tool: TOOL_VERSION,
    xorrisoVersion: state.xorrisoVersion!,
    zlibVersion: process.versions.zlib,
    addedFilesDigest: state.addedFilesDigest!,
    baseSha512: state.baseSha512!,
    artifactsDigest: artifactsDigest(state.artifacts!),
    boot: state.config!.boot,
    entries: state.bootEntries,
  });
  state.name = outputName(state.config!.name, state.inputsHash);
  const outDir = resolve(state.options.outDir);
  state.finalIso = join(outDir, isoFileName(state.name));
  try {
    const existing = await readManifestFile(join(outDir, manifestFileName(state.name)));
    if (existing.inputsHash === state.inputsHash && (await stat(state.finalIso)).size === existing.iso.size) return existing;
  } catch {
    // no usable earlier build
  }
  return undefined;
}

/** An earlier build of the same inputs counts only if its ISO still has the recorded sha256. */
async function confirmUpToDate(state: BuildState, existing: Manifest, reporter: Reporter): Promise<boolean> {
  reporter.info(`checking the existing ${isoFileName(state.name!)}`);
  const { sha256 } = await hashFile(state.finalIso!, ['sha256']);
  if (sha256 !== existing.iso.sha256) {
    reporter.warn(`${state.finalIso} does not match its manifest; building it again`);
    return false;
  }
  state.upToDate = { ...existing, iso: { ...existing.iso, path: state.finalIso! } };
  return true;
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
    state.tempIso = join(outDir, `.vultr-sid-iso-${randomBytes(4).toString('hex')}.iso.part`);
    const replay = () => {
      const stop = new AbortController();
      // Workers of their own: following the output keeps a worker busy, and the base image may
      // still be hashing on another. One digest per worker: sha512 alone costs more CPU than
      // xorriso's whole write, so on one thread with sha256 it would set the pace.
      const hashers = (state.outputHashers ??= [new HashWorker(), new HashWorker()]);
      const done = replayToFile(state.base!.path, state.tempIso!, state.replacements!, {
        signal: AbortSignal.any([signal, stop.signal]),
        sourceDateEpoch: state.sourceDateEpoch!,
        hashOutput: (path) => {
          const sha512 = hashers[0]!.followGrowing(path, ['sha512'], (bytes) => reporter.progress('writing', bytes, baseSize));
          const sha256 = hashers[1]!.followGrowing(path, ['sha256']);
          return {
            finish: async (size) => ({ ...(await sha512.finish(size)), ...(await sha256.finish(size)) }),
            abandon: () => {
              sha512.abandon();
              sha256.abandon();
            },
          };
        },
      });
      done.catch(() => undefined); // awaited below; this only avoids an unhandled rejection
      return {
        done,
        stop: async () => {
          stop.abort(new Error('stopped'));
          await done.catch(() => undefined);
          await rm(state.tempIso!, { force: true });
        },
      };
    };
    let writing = replay();
    try {
      state.baseSha512 = await state.base!.sha512;
      const existing = await planOutput(state);
      if (existing) {
        await writing.stop();
        if (await confirmUpToDate(state, existing, reporter)) return `${state.name} is up to date: nothing to do`;
        writing = replay();
      }
      state.isoHashes = await writing.done;
      // The name and the manifest describe the base as it was hashed; xorriso must have read that.
      if ((await fileIdentity(state.base!.path).catch(() => 'gone')) !== state.base!.identity) {
        throw new OperationError(`base ISO ${state.base!.source} changed while the build was reading it; run the build again once it is complete`);
      }
    } catch (error) {
      await writing.stop();
      if (signal.aborted || error instanceof UserInputError || error instanceof OperationError) throw error;
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new OperationError(`output directory ${outDir} ran out of space while writing the ISO; free some space or pass another --out-dir`, { cause: error });
      }
      throw new OperationError(`writing ${state.finalIso ?? outDir} failed: ${(error as Error).message}`, { cause: error });
    }
    return `${state.name}, ${formatBytes(state.isoHashes.size)}`;
  },
  async cleanup(state, { failed }) {
    for (const hasher of state.outputHashers ?? []) hasher.terminate();
    if (state.tempIso) await rm(state.tempIso, { force: true });
    if (failed && state.isoPlaced && state.manifest === undefined) {
      // The ISO was renamed into place but its manifest did not follow: it would be orphaned.
      await rm(state.finalIso!, { force: true });
    }
  },
};

export const writeManifest: Step<BuildState> = {
  title: 'Write manifest',
  async run(state) {
    const hashes = state.isoHashes!;
    // The hashes describe the bytes written; this checks those bytes are a whole ISO.
    const header = await readVolumeHeader(state.tempIso!);
    if (!header || header.declaredSize > hashes.size || header.fileSize !== hashes.size) {
      throw new OperationError(`xorriso's output for ${state.name} is not a complete ISO 9660 image (${hashes.size} bytes written); run the build again`);
    }
    const manifest: Manifest = {
      name: state.name!,
      toolVersion: TOOL_VERSION,
      inputsHash: state.inputsHash!,
      iso: { path: state.finalIso!, size: hashes.size, sha256: hashes.sha256, sha512: hashes.sha512 },
      base: {
        source: state.base!.source,
        sha512: state.baseSha512!,
        verified: state.base!.verified,
        ...(state.base!.signer ? { signer: state.base!.signer } : {}),
        volumeId: state.report!.volumeId,
        layout: state.layout!.kind,
      },
      bootEntries: state.bootEntries!,
    };
    await rename(state.tempIso!, state.finalIso!);
    state.isoPlaced = true;
    await writeManifestFile(join(dirname(state.finalIso!), manifestFileName(state.name!)), manifest);
    state.manifest = manifest;
    return `sha256 ${hashes.sha256.slice(0, 16)}…`;
  },
};
