// A mini.iso's chain, through the archive itself: the suite's InRelease, clearsigned by a
// pinned archive key, lists the SHA256 of images/SHA256SUMS, which lists the SHA256 of the
// image (…/dists/<suite>/main/installer-<arch>/<version>/images/…).
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { OperationError, UserInputError } from '../pipeline/errors.js';
import { fetchSmall } from '../systems/debian-mirror.js';
import { loadPinnedKeys, SHIPPED_ARCHIVE_KEYRING, verifyCleartext } from '../systems/debian-signing.js';
import { readRecord, recordPath, writeRecord } from './cache-record.js';
import type { ChainContext, Expected } from './chain.js';
import { parseInRelease, sha256Line, staleOrOtherSuite } from './in-release.js';

/** A mini.iso from the archive (…/dists/<suite>/main/installer-<arch>/<version>/images/…). */
export const ARCHIVE_IMAGE = /^(.*)\/dists\/([^/]+)\/(main\/installer-[^/]+\/[^/]+\/images)\/(.+)$/;

/** The archive's chain: InRelease (archive keys) → images/SHA256SUMS → the image. */
export async function archiveChain(chain: ChainContext): Promise<Expected> {
  const { url, base, offline, ctx, cacheDir, http } = chain;
  const [, root = '', suite = '', imagesDir = '', relPath = ''] = ARCHIVE_IMAGE.exec(url) ?? [];
  const inReleaseUrl = `${root}/dists/${suite}/InRelease`;
  const sumsPath = `${imagesDir}/SHA256SUMS`;
  const sumsUrl = `${root}/dists/${suite}/${sumsPath}`;
  const keyring = base.archiveKeyring ?? SHIPPED_ARCHIVE_KEYRING;
  const keys = await loadPinnedKeys(keyring, base.archiveFingerprints);
  if (keys.length === 0) throw new UserInputError(`none of base.archiveFingerprints is in the keyring ${keyring}; list the fingerprint of a key the keyring holds`);
  const record = recordPath(cacheDir, inReleaseUrl);
  // SHA256SUMS is optional in the record: it is checked against InRelease before use.
  const saved = await readRecord(record, ['inrelease']);
  const cached = saved && { data: saved.files.inrelease!, validators: saved.validators };
  const forget = () => rm(record, { force: true });
  let inRelease: Buffer;
  let fresh = false;
  let validators = cached?.validators;
  if (offline) {
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
    if (cached && !fresh && !offline) {
      ctx.reporter.warn(`the cached copy of ${inReleaseUrl} no longer verifies; fetching it again`);
      return archiveChain(chain); // the record is gone, so this fetches afresh, once
    }
    throw new OperationError(`the signature on ${inReleaseUrl} does not verify (${(error as Error).message}); the image is not used`, { cause: error });
  }
  ctx.reporter.info(`InRelease signed by ${signed.signer}`);
  const release = parseInRelease(signed.text);
  // A validly signed InRelease may still be an old one, or another suite's, replayed by a mirror.
  const problem = staleOrOtherSuite(release, suite, base.validUntilGraceDays);
  if (problem) {
    await forget();
    throw new OperationError(`${inReleaseUrl} ${problem}; a mirror may be replaying an old or another suite's file, so the image is not used`);
  }
  const sumsSha256 = release.sha256.get(sumsPath);
  if (!sumsSha256) throw new OperationError(`${inReleaseUrl} lists no SHA256 for ${sumsPath}; check base.url`);

  let sums: Buffer | undefined = saved?.files.sums;
  if (!sums || createHash('sha256').update(sums).digest('hex') !== sumsSha256) {
    if (offline) throw new UserInputError(`--offline: no cached ${sumsUrl} matching ${inReleaseUrl}; run the build once without --offline`);
    sums = (await fetchSmall(sumsUrl, 'checksum file', undefined, http)).data;
    if (createHash('sha256').update(sums).digest('hex') !== sumsSha256) {
      await forget();
      throw new OperationError(`${sumsUrl} does not match the SHA256 that the signed ${inReleaseUrl} lists for it; the image is not used`);
    }
    fresh = true;
  }
  if (fresh) await writeRecord(record, { validators: validators!, files: { inrelease: inRelease, sums } });
  const entry = sha256Line(sums.toString('utf8'), relPath);
  if (!entry) throw new OperationError(`${sumsUrl} has no line for ${relPath}; check base.url`);
  return { algorithm: 'sha256', hex: entry, from: sumsUrl, signer: signed.signer };
}
