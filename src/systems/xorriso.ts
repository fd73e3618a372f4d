// Everything this project asks of xorriso: version check, boot-layout report, extracting a
// few files, and the one-pass "replay" write that keeps all boot equipment (research
// debian-iso.md §2.3). Arguments go as arrays; the ExecaError is kept as `cause`.
import { execa, ExecaError } from 'execa';
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ToolMissingError, UserInputError, OperationError } from '../pipeline/errors.js';

const MIN_VERSION = [1, 5, 4] as const;

export interface XorrisoRunOptions {
  signal?: AbortSignal;
  env?: Record<string, string>;
  onStderrLine?: (line: string) => void;
}

async function xorriso(args: string[], options: XorrisoRunOptions = {}) {
  try {
    const sub = execa('xorriso', args, {
      cancelSignal: options.signal,
      env: { LC_ALL: 'C', ...options.env },
      lines: false,
      reject: true,
      buffer: { stdout: true, stderr: true },
    });
    if (options.onStderrLine) {
      let rest = '';
      sub.stderr?.on('data', (chunk: Buffer) => {
        const text = rest + chunk.toString();
        const lines = text.split(/\r?\n/);
        rest = lines.pop() ?? '';
        for (const line of lines) options.onStderrLine?.(line);
      });
    }
    return await sub;
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
  /** `-report_system_area plain` lines. */
  systemArea: string[];
  /** ISO paths (of those asked for) that exist, with their sizes. */
  files: Map<string, number>;
  /** Size of the ISO 9660 filesystem in bytes, from "Media summary". */
  dataBytes: number;
  volumeId: string;
}

/** Reads the boot layout and the listed paths without extracting anything. */
export async function inspectIso(isoPath: string, paths: string[], options: XorrisoRunOptions = {}): Promise<IsoReport> {
  let result;
  try {
    result = await xorriso(
      ['-abort_on', 'FAILURE', '-indev', isoPath, '-report_el_torito', 'as_mkisofs', '-report_system_area', 'plain', '-lsdl', ...paths, '--'],
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
  const all = `${result.stdout}\n${result.stderr}`.split('\n');
  const asMkisofs = result.stdout.split('\n').filter((l) => l.startsWith('-') || l.startsWith('--'));
  const systemArea = result.stdout.split('\n').filter((l) => /^(MBR|GPT|APM|System area)/.test(l));
  const files = new Map<string, number>();
  for (const line of result.stdout.split('\n')) {
    const m = /^[-dl][-rwxsStT]{9}\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\w+\s+\d+\s+[\d:]+\s+'(.*)'/.exec(line);
    if (m && m[2] !== undefined) files.set(m[2], Number(m[1]));
  }
  const blocks = /Media summary:\s+\d+ sessions?,\s+(\d+) data blocks/.exec(all.join('\n'));
  const volid = /^Volume id\s*:\s*'(.*)'/m.exec(all.join('\n'));
  return {
    asMkisofs,
    systemArea,
    files,
    dataBytes: blocks ? Number(blocks[1]) * 2048 : 0,
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
  /** Hashes the output file's sha512 on another thread as it grows (see HashWorker.follow). */
  followSha512: (path: string) => { advance(upTo: number): void; end(size: number): Promise<{ sha512: string }> };
  /** Seconds since the epoch used for every timestamp xorriso would take from the clock. */
  sourceDateEpoch: number;
  onProgress?: (bytesWritten: number) => void;
}

/**
 * Writes outPath = inPath with the given files replaced, keeping El Torito (BIOS + UEFI),
 * MBR, GPT, APM and appended partitions via `-boot_image any replay`. `no_emul_toc` keeps
 * the result a plain image. xorriso writes to its stdout, and the bytes are hashed on their
 * way to the file, so no second pass over the output is needed.
 */
/** FileHandle.write may write less than asked; the rest must follow. */
async function writeAll(file: FileHandle, chunk: Buffer): Promise<void> {
  let done = 0;
  while (done < chunk.length) done += (await file.write(chunk, done, chunk.length - done)).bytesWritten;
}

export async function replayToFile(
  inPath: string,
  outPath: string,
  replacements: { localPath: string; isoPath: string }[],
  options: ReplayOptions,
): Promise<{ size: number; sha256: string; sha512: string }> {
  const maps = replacements.flatMap((r) => ['-map', r.localPath, r.isoPath]);
  const args = ['-abort_on', 'FAILURE', '-indev', inPath, '-outdev', '-', '-compliance', 'no_emul_toc', ...maps, '-boot_image', 'any', 'replay'];
  const sha256 = createHash('sha256');
  // The file is opened before xorriso starts and the pipe is consumed from the same tick on:
  // execa resumes an unconsumed stdout, so bytes that arrive while we await anything in
  // between are lost (seen under load as an ISO missing its first blocks).
  const file = await open(outPath, 'w');
  const follower = options.followSha512(outPath);
  const sub = execa('xorriso', args, {
    cancelSignal: options.signal,
    env: { LC_ALL: 'C', SOURCE_DATE_EPOCH: String(options.sourceDateEpoch) },
    buffer: { stdout: false, stderr: true },
    encoding: 'buffer',
  });

  let size = 0;
  // Writes sequentially and tells the follower how far the file is complete.
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      sha256.update(chunk);
      writeAll(file, chunk).then(() => {
        size += chunk.length;
        follower.advance(size);
        options.onProgress?.(size);
        cb();
      }, cb);
    },
  });
  const writing = pipeline(sub.stdout!, sink, { signal: options.signal }).finally(() => file.close());
  try {
    await Promise.all([sub, writing]);
  } catch (error) {
    sub.kill();
    await Promise.allSettled([sub, writing]);
    if (error instanceof ExecaError) {
      if (error.code === 'ENOENT') throw new ToolMissingError('xorriso', 'xorriso', ' (it writes the ISO)');
      if (error.isCanceled) throw options.signal.reason ?? error;
      throw new OperationError(`xorriso could not write the ISO: ${lastProblem(Buffer.from(error.stderr ?? '').toString())}`, { cause: error });
    }
    throw error;
  }
  return { size, sha256: sha256.digest('hex'), sha512: (await follower.end(size)).sha512 };
}

/** "2026010100000000" (YYYYMMDDhhmmsscc, GMT) from the as_mkisofs report → epoch seconds. */
export function modificationEpoch(asMkisofs: string[]): number | undefined {
  const line = asMkisofs.find((l) => l.startsWith('--modification-date='));
  const m = /(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})/.exec(line ?? '');
  if (!m) return undefined;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) / 1000;
}
