// Download Debian's image and prove it is Debian's before touching it, failing closed:
// the OpenPGP signature on the checksum file (pinned keys) → the image's line in it → the
// image's hash. The cache (iso/cache) is keyed by that signed hash and never holds anything
// unverified: a cached image is re-hashed before use, and every failure removes its entry.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { OperationError, UserInputError } from '../pipeline/errors.js';
import type { StepContext } from '../pipeline/runner.js';
import { downloadResumable, fetchSmall, type Validators } from '../systems/debian-mirror.js';
import { loadPinnedKeys, SHIPPED_ARCHIVE_KEYRING, SHIPPED_KEYRING, SignatureError, verifyCleartext, verifyDetached } from '../systems/debian-signing.js';
import { DigestMemo } from '../pipeline/digest-memo.js';
import { hashFile } from './hash-file.js';
import { writeFileAtomic } from '../pipeline/fs-atomic.js';
import type { BuildOptions } from './build-state.js';

export interface VerifiedBase {
  path: string;
  source: string;
  sha512: string;
  verified: true;
}

const short = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/**
 * The small signed files of one chain (a checksum file and its signature, or InRelease and
 * SHA256SUMS) with the HTTP validators of the first: one JSON record, written atomically
 * after they verified, so a Ctrl-C can never leave half a pair that would fail the next run.
 */
interface CacheRecord {
  validators: Validators;
  files: Record<string, Buffer>;
}

/** The record at path if it holds at least the `required` files. */
async function readRecord(path: string, required: string[]): Promise<CacheRecord | undefined> {
  try {
    const raw = JSON.parse(await readFile(path, 'utf8')) as { validators: Validators; files: Record<string, string> };
    if (!required.every((n) => typeof raw.files?.[n] === 'string')) return undefined;
    return { validators: raw.validators, files: Object.fromEntries(Object.entries(raw.files).map(([n, b64]) => [n, Buffer.from(b64, 'base64')])) };
  } catch {
    return undefined;
  }
}

async function writeRecord(path: string, record: CacheRecord): Promise<void> {
  const files = Object.fromEntries(Object.entries(record.files).map(([n, b]) => [n, b.toString('base64')]));
  await writeFileAtomic(path, JSON.stringify({ validators: record.validators, files }));
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

interface ChainContext {
  url: string;
  base: Config['base'];
  options: BuildOptions;
  ctx: StepContext;
  cacheDir: string;
  http: { signal: AbortSignal; idleTimeoutMs?: number; backoffMs?: number };
}

interface Expected {
  algorithm: 'sha512' | 'sha256';
  hex: string;
  /** Where the hash came from, for messages. */
  from: string;
}

/** netinst: SHA512SUMS signed by a Debian CD key (SHA512SUMS.sign beside the image). */
async function cdChain(chain: ChainContext): Promise<Expected> {
  const { url, base, options, ctx, cacheDir, http } = chain;
  const { reporter } = ctx;
  const sumsUrl = new URL(base.checksums, url).href;
  const signUrl = new URL(base.signature, url).href;
  const fileName = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  const keys = await loadPinnedKeys(base.keyring ?? SHIPPED_KEYRING, base.fingerprints);
  if (keys.length === 0) {
    throw new UserInputError(`none of base.fingerprints is in the keyring ${base.keyring ?? SHIPPED_KEYRING}; list the fingerprint of a key the keyring holds`);
  }
  const recordPath = join(cacheDir, 'checksums', `${short(sumsUrl)}.json`);
  const cached = await readRecord(recordPath, ['sums', 'sign']);
  const forget = () => rm(recordPath, { force: true });

  // The checksum file and its signature: one conditional request when nothing changed.
  let sums: Buffer;
  let sign: Buffer;
  let fresh: CacheRecord | undefined;
  if (options.offline) {
    if (!cached) throw new UserInputError(`--offline: no cached checksums for ${sumsUrl}; run the build once without --offline`);
    ({ sums, sign } = cached.files as { sums: Buffer; sign: Buffer });
  } else {
    const got = await fetchSmall(sumsUrl, 'checksum file', cached && { data: cached.files.sums!, validators: cached.validators }, http);
    sums = got.data;
    if (got.notModified && cached) {
      sign = cached.files.sign!;
      reporter.info(`${sumsUrl} is unchanged (HTTP 304)`);
    } else {
      try {
        sign = (await fetchSmall(signUrl, 'signature', undefined, http)).data;
      } catch (error) {
        await forget();
        throw new OperationError(`the signature ${signUrl} could not be fetched (${(error as Error).message}); an unsigned image is never used`, { cause: error });
      }
      fresh = { validators: got.validators, files: { sums, sign } };
    }
  }

  // Signature by a pinned key, fail closed.
  let signer: string;
  try {
    signer = await verifyDetached(sums, sign, keys);
  } catch (error) {
    await forget();
    if (!fresh && !options.offline) {
      // An HTTP 304 answered with the cached copy, and that copy no longer verifies.
      reporter.warn(`the cached copy of ${sumsUrl} no longer verifies; fetching it again`);
      return cdChain(chain); // the record is gone, so this fetches afresh, once
    }
    const why = error instanceof SignatureError ? error.message : String(error);
    throw new OperationError(`the signature on ${sumsUrl} does not verify (${why}); the image is not used`, { cause: error });
  }
  if (fresh) await writeRecord(recordPath, fresh);
  reporter.info(`checksums signed by ${signer}`);
  const expected = expectedHash(sums.toString('utf8'), fileName);
  if (!expected) throw new OperationError(`${sumsUrl} has no line for ${fileName}; check base.url and base.checksums`);
  return { ...expected, from: sumsUrl };
}

/** A mini.iso from the archive (…/dists/<suite>/main/installer-<arch>/<version>/images/…). */
const ARCHIVE_IMAGE = /^(.*)\/dists\/([^/]+)\/(main\/installer-[^/]+\/[^/]+\/images)\/(.+)$/;

/** The archive's chain: InRelease (archive keys) → images/SHA256SUMS → the image. */
async function archiveChain(chain: ChainContext): Promise<Expected> {
  const { url, base, options, ctx, cacheDir, http } = chain;
  const [, root, suite, imagesDir, relPath] = ARCHIVE_IMAGE.exec(url)!;
  const inReleaseUrl = `${root}/dists/${suite}/InRelease`;
  const sumsPath = `${imagesDir}/SHA256SUMS`;
  const sumsUrl = `${root}/dists/${suite}/${sumsPath}`;
  const keyring = base.archiveKeyring ?? SHIPPED_ARCHIVE_KEYRING;
  const keys = await loadPinnedKeys(keyring, base.archiveFingerprints);
  if (keys.length === 0) throw new UserInputError(`none of base.archiveFingerprints is in the keyring ${keyring}; list the fingerprint of a key the keyring holds`);
  const recordPath = join(cacheDir, 'checksums', `${short(inReleaseUrl)}.json`);
  // SHA256SUMS is optional in the record: it is checked against InRelease before use.
  const record = await readRecord(recordPath, ['inrelease']);
  const cached = record && { data: record.files.inrelease!, validators: record.validators };
  const forget = () => rm(recordPath, { force: true });
  let inRelease: Buffer;
  let fresh = false;
  let validators = cached?.validators;
  if (options.offline) {
    if (!cached) throw new UserInputError(`--offline: no cached ${inReleaseUrl}; run the build once without --offline`);
    inRelease = cached.data;
  } else {
    const got = await fetchSmall(inReleaseUrl, 'InRelease', cached, http);
    inRelease = got.data;
    fresh = !got.notModified;
    validators = got.validators;
    if (got.notModified) ctx.reporter.info(`${inReleaseUrl} is unchanged (HTTP 304)`);
  }
  let signed: { signer: string; text: string };
  try {
    signed = await verifyCleartext(inRelease.toString('utf8'), keys);
  } catch (error) {
    await forget();
    if (cached && !fresh && !options.offline) {
      ctx.reporter.warn(`the cached copy of ${inReleaseUrl} no longer verifies; fetching it again`);
      return archiveChain(chain); // the record is gone, so this fetches afresh, once
    }
    throw new OperationError(`the signature on ${inReleaseUrl} does not verify (${(error as Error).message}); the image is not used`, { cause: error });
  }
  ctx.reporter.info(`InRelease signed by ${signed.signer}`);
  const section = signed.text.split(/^SHA256:\s*$/m)[1] ?? '';
  const line = section.split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[2] === sumsPath);
  if (!line) throw new OperationError(`${inReleaseUrl} lists no SHA256 for ${sumsPath}; check base.url`);
  const sumsSha256 = line[0]!.toLowerCase();

  let sums: Buffer | undefined = record?.files.sums;
  if (!sums || createHash('sha256').update(sums).digest('hex') !== sumsSha256) {
    if (options.offline) throw new UserInputError(`--offline: no cached ${sumsUrl} matching ${inReleaseUrl}; run the build once without --offline`);
    sums = (await fetchSmall(sumsUrl, 'checksum file', undefined, http)).data;
    if (createHash('sha256').update(sums).digest('hex') !== sumsSha256) {
      await forget();
      throw new OperationError(`${sumsUrl} does not match the SHA256 that the signed ${inReleaseUrl} lists for it; the image is not used`);
    }
    fresh = true;
  }
  if (fresh) await writeRecord(recordPath, { validators: validators!, files: { inrelease: inRelease, sums } });
  const entry = sums
    .toString('utf8')
    .split('\n')
    .map((l) => /^([0-9a-f]{64})\s+\*?(?:\.\/)?(.+)$/i.exec(l.trim()))
    .find((m) => m?.[2] === relPath);
  if (!entry) throw new OperationError(`${sumsUrl} has no line for ${relPath}; check base.url`);
  return { algorithm: 'sha256', hex: entry[1]!.toLowerCase(), from: sumsUrl };
}

export async function fetchVerifiedBase(url: string, base: Config['base'], options: BuildOptions, ctx: StepContext): Promise<VerifiedBase> {
  const { reporter, signal } = ctx;
  const cacheDir = resolve(options.cacheDir);
  const fileName = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  for (const dir of ['checksums', 'images', 'downloads']) {
    try {
      await mkdir(join(cacheDir, dir), { recursive: true });
    } catch (error) {
      throw new UserInputError(`cache directory ${cacheDir} cannot be created (${(error as NodeJS.ErrnoException).code}); pass a writable --cache-dir`, { cause: error });
    }
  }
  const http = { signal, idleTimeoutMs: options.httpIdleTimeoutMs, backoffMs: options.httpBackoffMs };
  const chain: ChainContext = { url, base, options, ctx, cacheDir, http };
  const expected = ARCHIVE_IMAGE.test(url) ? await archiveChain(chain) : await cdChain(chain);
  const sumsUrl = expected.from;

  // 3. The image: from the cache if its hash still matches, otherwise downloaded (resumable).
  const imagePath = join(cacheDir, 'images', `${expected.algorithm}-${expected.hex}.iso`);
  const memo = DigestMemo.inCacheDir(cacheDir);
  const check = async (path: string, label: string) => {
    // A cached image was verified when it entered the cache; it is hashed again unless it is
    // provably the same file since (restored caches, e.g. from actions/cache, never are).
    const remembered = await memo.lookup(path);
    if (remembered?.[expected.algorithm] === expected.hex) return { ok: true, sha512: remembered.sha512 };
    const remember = await memo.begin(path);
    const total = (await stat(path)).size;
    const h = await hashFile(path, ['sha512', 'sha256'], (done) => reporter.progress(label, done, total), signal);
    const ok = h[expected.algorithm] === expected.hex;
    if (ok && path === imagePath) await remember(h);
    return { ok, sha512: h.sha512 };
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
