// Everything this project asks of xorriso: version check, boot-layout report, extracting a
// few files, and the one-pass "replay" write that keeps all boot equipment (xorriso(1),
// -boot_image any replay). Arguments go as arrays; the ExecaError is kept as `cause`.
import { execa, ExecaError } from 'execa';
import { open, stat } from 'node:fs/promises';
import { ToolMissingError, UserInputError, OperationError } from '../pipeline/errors.js';

const MIN_VERSION = [1, 5, 4] as const;

export interface XorrisoRunOptions {
  signal?: AbortSignal;
}

async function xorriso(args: string[], options: XorrisoRunOptions = {}) {
  try {
    return await execa('xorriso', args, { cancelSignal: options.signal, env: { LC_ALL: 'C' } });
  } catch (error) {
    if (error instanceof ExecaError && error.code === 'ENOENT') {
      throw new ToolMissingError('xorriso', 'xorriso', ' (it writes the ISO)');
    }
    throw error;
  }
}

export async function xorrisoVersion(): Promise<string> {
  const { stdout } = await xorriso(['-version']);
  const match = /xorriso (\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!match) throw new OperationError(`could not read the xorriso version from "${stdout.split('\n')[0]}"`);
  const version = [Number(match[1]), Number(match[2]), Number(match[3])];
  for (let i = 0; i < 3; i++) {
    const have = version[i] ?? 0;
    const need = MIN_VERSION[i] ?? 0;
    if (have > need) break;
    if (have < need) {
      throw new ToolMissingError(`xorriso ≥ ${MIN_VERSION.join('.')}`, 'xorriso', ` (found ${version.join('.')})`);
    }
  }
  return version.join('.');
}

export interface IsoReport {
  /** Lines of `-report_el_torito as_mkisofs`, e.g. "-b '/isolinux/isolinux.bin'". */
  asMkisofs: string[];
  /** ISO paths (of those asked for) that exist, with their sizes. */
  files: Map<string, number>;
  volumeId: string;
}

/** Reads the boot layout and the listed paths without extracting anything. */
export async function inspectIso(isoPath: string, paths: string[], options: XorrisoRunOptions = {}): Promise<IsoReport> {
  let result;
  try {
    result = await xorriso(
      ['-abort_on', 'FAILURE', '-indev', isoPath, '-report_el_torito', 'as_mkisofs', '-lsdl', ...paths, '--'],
      options,
    );
  } catch (error) {
    if (error instanceof ExecaError) {
      throw new UserInputError(
        `base ISO ${isoPath} could not be read as an ISO 9660 image (xorriso: ${lastProblem(error.stderr)}); pass a Debian amd64 netinst or mini.iso with --base-iso`,
        { cause: error },
      );
    }
    throw error;
  }
  const asMkisofs = result.stdout.split('\n').filter((l) => l.startsWith('-') || l.startsWith('--'));
  const files = new Map<string, number>();
  for (const line of result.stdout.split('\n')) {
    const m = /^[-dl][-rwxsStT]{9}\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\w+\s+\d+\s+[\d:]+\s+'(.*)'/.exec(line);
    if (m && m[2] !== undefined) files.set(m[2], Number(m[1]));
  }
  const volid = /^Volume id\s*:\s*'(.*)'/m.exec(`${result.stdout}\n${result.stderr}`);
  return {
    asMkisofs,
    files,
    volumeId: volid?.[1] ?? '',
  };
}

function lastProblem(stderr: unknown): string {
  const lines = String(stderr ?? '')
    .split('\n')
    .filter((l) => /FAILURE|SORRY|FATAL|NOTE : .*not|WARNING/.test(l));
  return (lines.at(-1) ?? 'unknown error').replace(/^xorriso : \w+ : /, '').trim();
}

/** Copies ISO files into destDir, keeping their ISO paths (/a/b → destDir/a/b). */
export async function extractFiles(isoPath: string, isoPaths: string[], destDir: string, options: XorrisoRunOptions = {}): Promise<void> {
  await xorriso(['-osirrox', 'on', '-indev', isoPath, '-extract_l', '/', destDir, ...isoPaths, '--'], options);
}

export interface ReplayOptions {
  signal: AbortSignal;
  /** Seconds since the epoch used for every timestamp xorriso would take from the clock. */
  sourceDateEpoch: number;
  /** Starts hashing the output file as xorriso appends to it (see HashWorker.followGrowing). */
  hashOutput: (path: string) => { finish(size: number): Promise<{ sha256: string; sha512: string }>; abandon(): void };
}

/** The one xorriso command line that writes the ISO (exported so a test can trace it). */
export function replayArgs(inPath: string, outPath: string, replacements: { localPath: string; isoPath: string }[]): string[] {
  const maps = replacements.flatMap((r) => ['-map', r.localPath, r.isoPath]);
  // Owned by root, as Debian's own files are (mkisofs -r), whoever builds: -map would record
  // the builder's uid, and the same inputs must give the same bytes for every user.
  const paths = replacements.map((r) => r.isoPath);
  const owners = ['-chown_r', '0', ...paths, '--', '-chgrp_r', '0', ...paths, '--'];
  return ['-abort_on', 'FAILURE', '-indev', inPath, '-outdev', `stdio:${outPath}`, '-compliance', 'no_emul_toc', ...maps, ...owners, '-boot_image', 'any', 'replay'];
}

/**
 * Writes outPath = inPath with the given files replaced, keeping El Torito (BIOS + UEFI),
 * MBR, GPT, APM and appended partitions via `-boot_image any replay`. `no_emul_toc` keeps
 * the result a plain image written strictly front to back, which is what lets the output be
 * hashed while it is written (a test holds xorriso to that with strace). xorriso writes the
 * file itself: piping 700 MB through this process cost more CPU than xorriso's whole run.
 * Its default -stdio_sync (fsync every 16 MiB) bounds dirty memory and leaves the ISO on
 * disk before it is renamed into place.
 */
export async function replayToFile(
  inPath: string,
  outPath: string,
  replacements: { localPath: string; isoPath: string }[],
  options: ReplayOptions,
): Promise<{ size: number; sha256: string; sha512: string }> {
  const args = replayArgs(inPath, outPath, replacements);
  // Created here (a fresh name) so the hasher can open it before xorriso writes a byte.
  await (await open(outPath, 'wx')).close();
  const hashing = options.hashOutput(outPath);
  try {
    await execa('xorriso', args, {
      cancelSignal: options.signal,
      env: { LC_ALL: 'C', SOURCE_DATE_EPOCH: String(options.sourceDateEpoch) },
      buffer: { stdout: false, stderr: true },
    });
  } catch (error) {
    hashing.abandon();
    if (error instanceof ExecaError) {
      if (error.code === 'ENOENT') throw new ToolMissingError('xorriso', 'xorriso', ' (it writes the ISO)');
      if (error.isCanceled) throw options.signal.reason ?? error;
      const stderr = String(error.stderr ?? '');
      if (/No space left on device|exceeds free space on media/i.test(stderr)) throw Object.assign(new Error('no space left on device', { cause: error }), { code: 'ENOSPC' });
      throw new OperationError(`xorriso could not write the ISO: ${lastProblem(stderr)}`, { cause: error });
    }
    throw error;
  }
  const { size } = await stat(outPath);
  try {
    return { size, ...(await hashing.finish(size)) };
  } catch (error) {
    throw new OperationError(`could not hash the ISO xorriso wrote (${(error as Error).message}); run the build again`, { cause: error });
  }
}

/** "2026010100000000" (YYYYMMDDhhmmsscc, GMT) from the as_mkisofs report → epoch seconds. */
export function modificationEpoch(asMkisofs: string[]): number | undefined {
  const line = asMkisofs.find((l) => l.startsWith('--modification-date='));
  const m = /(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})/.exec(line ?? '');
  if (!m) return undefined;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) / 1000;
}
