// Stand-in Debian ISOs built from Debian packages by scripts/fixtures/, cached under
// iso/cache/fixtures keyed by the builder's own content (so a changed builder rebuilds).
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURE_CACHE, ROOT } from './project.js';

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
    await execa('bash', [BUILDER, kind, out, String(fillerMb)], { env: { FIXTURE_DEBS_DIR: join(ROOT, 'iso/cache/debs') } });
  }
  return out;
}
