// The nightly's cache key for the base image: one entry per signed image hash, read from the
// checksum file the build itself trusts (SHA512SUMS beside a netinst, images/SHA256SUMS of a
// mini.iso's suite). It prints `key=debian-base-<algorithm>-<hex>` for $GITHUB_OUTPUT, or
// nothing (with a warning) when there should be no cache: a daily image, which changes every
// night, or a checksum file that cannot be read or has no line for the image. Failing closed
// here means no cache, never a key that does not name the image; the build still verifies
// whatever a cache holds.
//   node dist/scripts/base-cache-key.js [--config FILE]   (--help)
import { ARCHIVE_IMAGE } from '../src/base-image/archive-chain.js';
import { expectedHash, urlFileName } from '../src/base-image/chain.js';
import { loadConfig } from '../src/config/load.js';
import { parseScriptArgs, scriptCommand } from './script-cli.js';

const values = parseScriptArgs(
  scriptCommand('base-cache-key', 'Print key=debian-base-<algorithm>-<hash> for the base image the config names, or nothing when it should not be cached.').option(
    '--config <file>',
    'config file',
    'iso.config.yaml',
  ),
).opts();

async function main(): Promise<void> {
  const { base } = await loadConfig(values.config);
  const url = base.url;
  if (/\/daily-builds\//.test(url)) return warn(`${url} is a daily build: not cached`);
  const archive = ARCHIVE_IMAGE.exec(url);
  const sumsUrl = archive ? `${archive[1]}/dists/${archive[2]}/${archive[3]}/SHA256SUMS` : new URL(base.checksums, url).href;
  const name = archive ? archive[4]! : urlFileName(url);
  let sums: string;
  try {
    const res = await fetch(sumsUrl, { signal: AbortSignal.timeout(60_000) });
    if (!res.ok) return warn(`${sumsUrl} answered HTTP ${res.status}: no cache`);
    sums = await res.text();
  } catch (error) {
    return warn(`${sumsUrl} could not be read (${(error as Error).message}): no cache`);
  }
  const line = expectedHash(sums, name);
  if (!line) return warn(`${sumsUrl} has no line for ${name}: no cache`);
  console.log(`key=debian-base-${line.algorithm}-${line.hex}`);
}

function warn(message: string): void {
  console.error(`::warning::base image cache: ${message}`);
}

await main();
