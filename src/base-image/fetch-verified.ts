// Download Debian's image and prove it is Debian's before touching it, failing closed: a
// signature by a pinned key over a checksum file (cd-chain.ts for a netinst, archive-chain.ts
// for a mini.iso from the archive) → the image's hash in it → the image (image-cache.ts).
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { UserInputError } from '../pipeline/errors.js';
import type { StepContext } from '../pipeline/runner.js';
import { ARCHIVE_IMAGE, archiveChain } from './archive-chain.js';
import { cdChain } from './cd-chain.js';
import type { ChainContext, FetchOptions } from './chain.js';
import { cachedOrDownloaded } from './image-cache.js';

export interface VerifiedBase {
  path: string;
  source: string;
  sha512: string;
  verified: true;
  /** Fingerprint of the key whose signature vouched for the image. */
  signer: string;
}

export async function fetchVerifiedBase(url: string, base: Config['base'], options: FetchOptions, ctx: StepContext): Promise<VerifiedBase> {
  const cacheDir = resolve(options.cacheDir);
  for (const dir of ['checksums', 'images', 'downloads']) {
    try {
      await mkdir(join(cacheDir, dir), { recursive: true });
    } catch (error) {
      throw new UserInputError(`cache directory ${cacheDir} cannot be created (${(error as NodeJS.ErrnoException).code}); pass a writable --cache-dir`, { cause: error });
    }
  }
  const http = { signal: ctx.signal, idleTimeoutMs: options.idleTimeoutMs, backoffMs: options.backoffMs };
  const chain: ChainContext = { url, base, offline: options.offline, ctx, cacheDir, http };
  const expected = ARCHIVE_IMAGE.test(url) ? await archiveChain(chain) : await cdChain(chain);
  const image = await cachedOrDownloaded(chain, expected);
  return { ...image, source: url, verified: true, signer: expected.signer };
}
