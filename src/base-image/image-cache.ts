// The images themselves, in iso/cache/images keyed by their signed hash: a cached image is
// used only while it still has that hash (re-hashed unless provably the same file, see
// DigestMemo), and a download becomes a cache entry only once it has it. So the cache never
// holds an unverified image, and every failure removes what it left.
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DigestMemo } from '../files/digest-memo.js';
import { hashFile } from '../files/hash-file.js';
import { OperationError, UserInputError } from '../pipeline/errors.js';
import { downloadResumable } from '../systems/debian-mirror.js';
import { shortHash } from './cache-record.js';
import { urlFileName, type ChainContext, type Expected } from './chain.js';

/** The verified image's path and sha512 (the manifest records it whatever the chain's algorithm). */
export async function cachedOrDownloaded(chain: ChainContext, expected: Expected): Promise<{ path: string; sha512: string }> {
  const { url, cacheDir, offline, http, ctx } = chain;
  const { reporter, signal } = ctx;
  const fileName = urlFileName(url);
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
      return { path: imagePath, sha512: hit.sha512 };
    }
    reporter.warn(`cached image ${imagePath} does not match the signed checksum; removing it`);
    await rm(imagePath, { force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (offline) {
    throw new UserInputError(`--offline: the image ${fileName} (${expected.algorithm} ${expected.hex.slice(0, 16)}…) is not in ${join(cacheDir, 'images')}; run the build once without --offline`);
  }
  const part = join(cacheDir, 'downloads', `${shortHash(url)}.part`);
  await downloadResumable(url, part, 'base image', { ...http, onProgress: (done, total) => reporter.progress('downloading', done, total) });
  const got = await check(part, 'verifying');
  if (!got.ok) {
    await rm(part, { force: true });
    await rm(`${part}.json`, { force: true });
    throw new OperationError(`the downloaded ${fileName} does not match the signed ${expected.algorithm} in ${expected.from}; it was deleted (a tampered or corrupt download)`);
  }
  await rename(part, imagePath);
  await rm(`${part}.json`, { force: true });
  return { path: imagePath, sha512: got.sha512 };
}
