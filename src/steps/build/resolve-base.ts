// Find the base image. A local file (--base-iso PATH) without checksums is used as it is, but
// the manifest says verified: false and --require-verified refuses it. URLs are downloaded and
// verified against Debian's signed checksums (base-image/).
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DigestMemo, fileIdentity } from '../../files/digest-memo.js';
import { HashWorker } from '../../files/hash-worker.js';
import { hasCredentials, isLoopbackHost } from '../../net/urls.js';
import { UserInputError } from '../../pipeline/errors.js';
import type { Step } from '../../pipeline/runner.js';
import { xorrisoVersion } from '../../systems/xorriso.js';
import type { BuildState } from './state.js';

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** A base image URL may be used only without credentials in it, and over https unless allowed. */
function checkUrl(source: string, from: string, allowInsecure: boolean): void {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new UserInputError(`${from} is not a valid URL; pass an https:// URL of a Debian installer image`);
  }
  if (hasCredentials(url)) {
    throw new UserInputError(`${from} carries credentials (user:password@ in the URL), which would end up in logs and the manifest; remove them`);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !allowInsecure) {
    throw new UserInputError(`${from} ${source} is plain http://; pass an https:// URL (Debian's mirrors serve it), or --allow-insecure-url for a mirror you trust (the signature is checked either way)`);
  }
}

export const resolveBase: Step<BuildState> = {
  title: 'Get base ISO',
  async run(state, ctx) {
    // Before the base is fetched (a netinst is hundreds of MB): the repack needs xorriso.
    state.xorrisoVersion = await xorrisoVersion();
    const source = state.options.baseIso ?? state.config!.base.url;
    if (isUrl(source)) {
      checkUrl(source, state.options.baseIso ? '--base-iso' : 'base.url', state.options.allowInsecureUrl);
      // openpgp.js is loaded only when a download has to be verified.
      const { fetchVerifiedBase } = await import('../../base-image/fetch-verified.js');
      const { cacheDir, offline, settings } = state.options;
      const base = await fetchVerifiedBase(source, state.config!.base, { cacheDir, offline, idleTimeoutMs: settings.http.timeoutMs, backoffMs: settings.http.backoffMs }, ctx);
      state.base = { ...base, sha512: Promise.resolve(base.sha512), identity: await fileIdentity(base.path) };
      return `verified ${base.sha512.slice(0, 16)}…`;
    }
    const path = resolve(source);
    try {
      if (!(await stat(path)).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    } catch (error) {
      throw new UserInputError(`base ISO ${source} does not exist or is not a file; pass a Debian installer ISO with --base-iso PATH|URL`, { cause: error });
    }
    if (state.options.requireVerified) {
      throw new UserInputError(
        `base ISO ${source} is a local file without a signed checksum and --require-verified is set; pass its URL (with SHA512SUMS and SHA512SUMS.sign beside it) instead`,
      );
    }
    const identity = await fileIdentity(path);
    ctx.reporter.warn(`base ISO ${source} is a local file: its origin is not verified (manifest says verified: false)`);
    const memo = DigestMemo.inCacheDir(state.options.cacheDir);
    const remembered = await memo.lookup(path);
    if (remembered) {
      state.base = { path, source, sha512: Promise.resolve(remembered.sha512), verified: false, identity };
      return 'local file, not verified (unchanged since it was last hashed)';
    }
    // Hashed on another core while the ISO is written (the name needs it only at the end).
    const remember = await memo.begin(path);
    state.hasher = new HashWorker();
    const sha512 = state.hasher.hashFile(path, ['sha512', 'sha256']).then(async (digests) => {
      await remember(digests);
      return digests.sha512;
    });
    sha512.catch(() => undefined); // awaited later; a build that fails first must not crash on it
    state.base = { path, source, sha512, verified: false, identity };
    return 'local file, not verified';
  },
  async cleanup(state) {
    state.hasher?.terminate();
  },
};
