// The netinst's chain: SHA512SUMS signed by a pinned Debian CD key (SHA512SUMS.sign beside
// the image) gives the image's hash.
import { rm } from 'node:fs/promises';
import { OperationError, UserInputError } from '../pipeline/errors.js';
import { fetchSmall } from '../systems/debian-mirror.js';
import { loadPinnedKeys, SHIPPED_KEYRING, SignatureError, verifyDetached } from '../systems/debian-signing.js';
import { readRecord, recordPath, writeRecord, type CacheRecord } from './cache-record.js';
import { expectedHash, urlFileName, type ChainContext, type Expected } from './chain.js';

/** netinst: SHA512SUMS signed by a Debian CD key (SHA512SUMS.sign beside the image). */
export async function cdChain(chain: ChainContext): Promise<Expected> {
  const { url, base, offline, ctx, cacheDir, http } = chain;
  const { reporter } = ctx;
  const sumsUrl = new URL(base.checksums, url).href;
  const signUrl = new URL(base.signature, url).href;
  const fileName = urlFileName(url);
  const keys = await loadPinnedKeys(base.keyring ?? SHIPPED_KEYRING, base.fingerprints);
  if (keys.length === 0) {
    throw new UserInputError(`none of base.fingerprints is in the keyring ${base.keyring ?? SHIPPED_KEYRING}; list the fingerprint of a key the keyring holds`);
  }
  const record = recordPath(cacheDir, sumsUrl);
  const cached = await readRecord(record, ['sums', 'sign']);
  const forget = () => rm(record, { force: true });

  // The checksum file and its signature: one conditional request when nothing changed.
  let sums: Buffer;
  let sign: Buffer;
  let fresh: CacheRecord | undefined;
  if (offline) {
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
    if (!fresh && !offline) {
      // An HTTP 304 answered with the cached copy, and that copy no longer verifies.
      reporter.warn(`the cached copy of ${sumsUrl} no longer verifies; fetching it again`);
      return cdChain(chain); // the record is gone, so this fetches afresh, once
    }
    const why = error instanceof SignatureError ? error.message : String(error);
    throw new OperationError(`the signature on ${sumsUrl} does not verify (${why}); the image is not used`, { cause: error });
  }
  if (fresh) await writeRecord(record, fresh);
  reporter.info(`checksums signed by ${signer}`);
  const expected = expectedHash(sums.toString('utf8'), fileName);
  if (!expected) throw new OperationError(`${sumsUrl} has no line for ${fileName}; check base.url and base.checksums`);
  return { ...expected, from: sumsUrl, signer };
}
