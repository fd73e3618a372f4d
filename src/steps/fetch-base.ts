// Download Debian's image and prove it is Debian's before touching it, failing closed:
// the OpenPGP signature on the checksum file (pinned keys) → the image's line in it → the
// image's hash. The cache (iso/cache) is keyed by that signed hash and never holds anything
// unverified: a cached image is re-hashed before use, and every failure removes its entry.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { OperationError, UserInputError } from '../pipeline/errors.js';
import type { StepContext } from '../pipeline/runner.js';
import { downloadResumable, fetchSmall } from '../systems/debian-mirror.js';
import { loadPinnedKeys, SHIPPED_KEYRING, SignatureError, verifyDetached } from '../systems/debian-signing.js';
import type { BuildOptions } from './build-state.js';

export interface VerifiedBase {
  path: string;
  source: string;
  sha512: string;
  verified: true;
}
import { hashFile } from './hash-file.js';

const short = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

interface CachedSums {
  data: Buffer;
  sign: Buffer;
  validators: { url: string; etag?: string; lastModified?: string };
}

async function readCachedSums(prefix: string): Promise<CachedSums | undefined> {
  try {
    const [data, sign, meta] = await Promise.all([readFile(`${prefix}.sums`), readFile(`${prefix}.sign`), readFile(`${prefix}.json`, 'utf8')]);
    return { data, sign, validators: JSON.parse(meta) };
  } catch {
    return undefined;
  }
}

async function removeCachedSums(prefix: string): Promise<void> {
  await Promise.all(['.sums', '.sign', '.json'].map((ext) => rm(`${prefix}${ext}`, { force: true })));
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

export async function fetchVerifiedBase(url: string, base: Config['base'], options: BuildOptions, ctx: StepContext): Promise<VerifiedBase> {
  const { reporter, signal } = ctx;
  const cacheDir = resolve(options.cacheDir);
  const sumsUrl = new URL(base.checksums, url).href;
  const signUrl = new URL(base.signature, url).href;
  const fileName = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  const keys = await loadPinnedKeys(base.keyring ?? SHIPPED_KEYRING, base.fingerprints);
  if (keys.length === 0) {
    throw new UserInputError(`none of base.fingerprints is in the keyring ${base.keyring ?? SHIPPED_KEYRING}; list the fingerprint of a key the keyring holds`);
  }
  for (const dir of ['checksums', 'images', 'downloads']) {
    try {
      await mkdir(join(cacheDir, dir), { recursive: true });
    } catch (error) {
      throw new UserInputError(`cache directory ${cacheDir} cannot be created (${(error as NodeJS.ErrnoException).code}); pass a writable --cache-dir`, { cause: error });
    }
  }
  const sumsPrefix = join(cacheDir, 'checksums', short(sumsUrl));
  const cached = await readCachedSums(sumsPrefix);
  const http = { signal, idleTimeoutMs: options.httpIdleTimeoutMs, backoffMs: options.httpBackoffMs };

  // 1. The checksum file and its signature: one conditional request when nothing changed.
  let sums: Buffer;
  let sign: Buffer;
  let fresh: CachedSums | undefined;
  if (options.offline) {
    if (!cached) throw new UserInputError(`--offline: no cached checksums for ${sumsUrl}; run the build once without --offline`);
    ({ data: sums, sign } = cached);
  } else {
    const got = await fetchSmall(sumsUrl, 'checksum file', cached && { data: cached.data, validators: cached.validators }, http);
    sums = got.data;
    if (got.notModified && cached) {
      sign = cached.sign;
      reporter.info(`${sumsUrl} is unchanged (HTTP 304)`);
    } else {
      try {
        sign = (await fetchSmall(signUrl, 'signature', undefined, http)).data;
      } catch (error) {
        await removeCachedSums(sumsPrefix);
        throw new OperationError(`the signature ${signUrl} could not be fetched (${(error as Error).message}); an unsigned image is never used`, { cause: error });
      }
      fresh = { data: sums, sign, validators: got.validators };
    }
  }

  // 2. Signature by a pinned key, fail closed.
  let signer: string;
  try {
    signer = await verifyDetached(sums, sign, keys);
  } catch (error) {
    await removeCachedSums(sumsPrefix);
    const why = error instanceof SignatureError ? error.message : String(error);
    throw new OperationError(`the signature on ${sumsUrl} does not verify (${why}); the image is not used`, { cause: error });
  }
  if (fresh) {
    await writeFile(`${sumsPrefix}.sums`, fresh.data);
    await writeFile(`${sumsPrefix}.sign`, fresh.sign);
    await writeFile(`${sumsPrefix}.json`, JSON.stringify(fresh.validators));
  }
  reporter.info(`checksums signed by ${signer}`);

  const expected = expectedHash(sums.toString('utf8'), fileName);
  if (!expected) throw new OperationError(`${sumsUrl} has no line for ${fileName}; check base.url and base.checksums`);

  // 3. The image: from the cache if its hash still matches, otherwise downloaded (resumable).
  const imagePath = join(cacheDir, 'images', `${expected.algorithm}-${expected.hex}.iso`);
  const check = async (path: string, label: string) => {
    const total = (await stat(path)).size;
    const h = await hashFile(path, ['sha512', 'sha256'], (done) => reporter.progress(label, done, total), signal);
    return { ok: h[expected.algorithm] === expected.hex, sha512: h.sha512 };
  };
  try {
    const hit = await check(imagePath, 'checking cached image');
    if (hit.ok) {
      reporter.info(`using the cached image ${imagePath}`);
      return { path: imagePath, source: url, sha512: hit.sha512, verified: true };
    }
    reporter.warn(`cached image ${imagePath} does not match the signed checksum; removing it`);
    await rm(imagePath, { force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (options.offline) {
    throw new UserInputError(`--offline: the image ${fileName} (${expected.algorithm} ${expected.hex.slice(0, 16)}…) is not in ${join(cacheDir, 'images')}; run the build once without --offline`);
  }
  const part = join(cacheDir, 'downloads', `${short(url)}.part`);
  await downloadResumable(url, part, 'base image', { ...http, onProgress: (done, total) => reporter.progress('downloading', done, total) });
  const got = await check(part, 'verifying');
  if (!got.ok) {
    await rm(part, { force: true });
    await rm(`${part}.json`, { force: true });
    throw new OperationError(`the downloaded ${fileName} does not match the signed ${expected.algorithm} in ${sumsUrl}; it was deleted (a tampered or corrupt download)`);
  }
  await rename(part, imagePath);
  await rm(`${part}.json`, { force: true });
  return { path: imagePath, source: url, sha512: got.sha512, verified: true };
}
