// What each verification chain (cd-chain.ts, archive-chain.ts) is given, and what it proves:
// the hash the image must have, taken from a file whose signature verified.
import type { Config } from '../config/schema.js';
import type { StepContext } from '../pipeline/runner.js';
import type { HttpOptions } from '../systems/debian-mirror.js';

export interface FetchOptions {
  cacheDir: string;
  /** Use the cache alone; never download. */
  offline: boolean;
  /** HTTP tuning (VULTR_SID_ISO_HTTP_TIMEOUT / _BACKOFF). */
  idleTimeoutMs?: number;
  backoffMs?: number;
}

export interface ChainContext {
  url: string;
  base: Config['base'];
  offline: boolean;
  ctx: StepContext;
  /** Absolute. */
  cacheDir: string;
  http: HttpOptions;
}

export interface Expected {
  algorithm: 'sha512' | 'sha256';
  hex: string;
  /** The checksum file the hash came from, for messages. */
  from: string;
  /** Fingerprint of the pinned key whose signature vouched for it. */
  signer: string;
}

/** The image's line in a SHA512SUMS/SHA256SUMS file: "<hex>  [./]name" (or "<hex> *name"). */
export function expectedHash(sums: string, fileName: string): { algorithm: 'sha512' | 'sha256'; hex: string } | undefined {
  for (const line of sums.split('\n')) {
    const m = /^([0-9a-f]{64}|[0-9a-f]{128})\s+\*?(?:\.\/)?(.+)$/i.exec(line.trim());
    if (m && (m[2] === fileName || m[2]!.endsWith(`/${fileName}`))) {
      return { algorithm: m[1]!.length === 128 ? 'sha512' : 'sha256', hex: m[1]!.toLowerCase() };
    }
  }
  return undefined;
}

/** The last path segment of a URL, decoded. */
export function urlFileName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
}
