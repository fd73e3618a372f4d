// The one naming rule for what build writes: "<prefix>-<12 hex>.iso" and its manifest
// "<prefix>-<12 hex>.json" side by side, where the hex starts the hash of every input. The
// same rule tells our ISOs apart from anyone else's in a Vultr library.
import { createHash } from 'node:crypto';

/** Everything that decides the output's bytes; unchanged inputs give the same name. */
export interface OutputInputs {
  tool: string;
  /** The programs that produce the bytes: xorriso writes the image, zlib the initrd member. */
  xorrisoVersion: string;
  zlibVersion: string;
  /** Every file the build adds or changes (our initrd, the menus, GRUB's files, the checksum lists). */
  addedFilesDigest: string;
  baseSha512: string;
  artifactsDigest: string;
  boot: unknown;
  entries: unknown;
}

export function inputsHash(inputs: OutputInputs): string {
  const { tool, xorrisoVersion, zlibVersion, addedFilesDigest, baseSha512, artifactsDigest, boot, entries } = inputs;
  const json = JSON.stringify({ tool, xorriso: xorrisoVersion, zlib: zlibVersion, added: addedFilesDigest, base: baseSha512, artifacts: artifactsDigest, boot, entries });
  return createHash('sha256').update(json).digest('hex');
}

/** "<prefix>-<first 12 hex digits of the inputs hash>". */
export function outputName(prefix: string, hash: string): string {
  return `${prefix}-${hash.slice(0, 12)}`;
}

export const isoFileName = (name: string) => `${name}.iso`;
export const manifestFileName = (name: string) => `${name}.json`;

/** The manifest written beside an ISO. */
export function manifestPathFor(isoPath: string): string {
  return isoPath.replace(/\.iso$/, '.json');
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Ours: an ISO file name this rule gives for this prefix, and nothing merely alike. Vultr
 * names an ISO after its URL; whether it keeps a presigned URL's query string in the name is
 * not known (no public source says, and no real account has been seen doing either), so one
 * may follow.
 */
export function isOurIsoFileName(filename: string, prefix: string): boolean {
  return new RegExp(`^${escapeRegExp(prefix)}-[0-9a-f]{12}\\.iso(\\?.*)?$`).test(filename);
}
