// Stand-in Debian ISOs built from Debian packages by scripts/fixtures/, cached under
// iso/cache/fixtures keyed by the builder's own content (so a changed builder rebuilds).
// The builds are not byte-reproducible, so test/global-setup.ts builds every fixture once,
// before the test files run in parallel: two files must never race to (re)build one.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT as ROOT } from '../../src/paths.js';

const FIXTURE_CACHE = join(ROOT, 'iso/cache/fixtures');

const BUILDER = join(ROOT, 'scripts/fixtures/build-standin-iso.sh');

export async function standinIso(kind: 'netinst' | 'mini', fillerMb = 1): Promise<string> {
  const key = createHash('sha256')
    .update(await readFile(BUILDER))
    .update(await readFile(join(ROOT, 'scripts/fixtures/debian-packages.txt')))
    .update(`${kind}:${fillerMb}`)
    .digest('hex')
    .slice(0, 12);
  const out = join(FIXTURE_CACHE, `${kind}-${fillerMb}m-${key}.iso`);
  if (!existsSync(out)) {
    await mkdir(FIXTURE_CACHE, { recursive: true });
    // Written under a temporary name and renamed by the builder: a reader never sees half.
    await execa('bash', [BUILDER, kind, out, String(fillerMb)], { env: { FIXTURE_DEBS_DIR: join(ROOT, 'iso/cache/debs') } });
  }
  return out;
}

/** Every fixture the tests use (called once from the global set-up). */
export const ALL_FIXTURES: [kind: 'netinst' | 'mini', fillerMb: number][] = [
  ['netinst', 1],
  ['mini', 1],
  ['netinst', 400],
];
