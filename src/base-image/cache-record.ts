// The small signed files of one chain (a checksum file and its signature, or InRelease and
// SHA256SUMS) with the HTTP validators of the first: one JSON record, written atomically
// after they verified, so a Ctrl-C can never leave half a pair that would fail the next run.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.js';
import type { Validators } from '../systems/debian-mirror.js';

export interface CacheRecord {
  validators: Validators;
  files: Record<string, Buffer>;
}

/** Where the record for a chain that starts at `url` lives in the cache directory. */
export function recordPath(cacheDir: string, url: string): string {
  return join(cacheDir, 'checksums', `${shortHash(url)}.json`);
}

export const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/** The record at path if it holds at least the `required` files. */
export async function readRecord(path: string, required: string[]): Promise<CacheRecord | undefined> {
  try {
    const raw = JSON.parse(await readFile(path, 'utf8')) as { validators: Validators; files: Record<string, string> };
    if (!required.every((n) => typeof raw.files?.[n] === 'string')) return undefined;
    return { validators: raw.validators, files: Object.fromEntries(Object.entries(raw.files).map(([n, b64]) => [n, Buffer.from(b64, 'base64')])) };
  } catch {
    return undefined;
  }
}

export async function writeRecord(path: string, record: CacheRecord): Promise<void> {
  const files = Object.fromEntries(Object.entries(record.files).map(([n, b]) => [n, b.toString('base64')]));
  await writeFileAtomic(path, JSON.stringify({ validators: record.validators, files }));
}
