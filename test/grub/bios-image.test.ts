// grub/biosgrub.img, the GRUB that ISOLINUX's default entry starts, is committed as built by
// grub/build.sh from pinned Debian packages: rebuilding it must give the same bytes, so the
// binary in the repository is exactly what its sources say. A control shows that another
// built-in config gives other bytes (the comparison can fail).
import { execa } from 'execa';
import { readFile, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/project.js';

describe('grub/biosgrub.img', () => {
  it('is what grub/build.sh makes from the pinned packages, byte for byte', { timeout: 120_000 }, async () => {
    const dir = await tempDir();
    const rebuilt = join(dir, 'biosgrub.img');
    await execa('bash', [join(ROOT, 'grub/build.sh'), rebuilt], { env: { GRUB_DEBS_DIR: join(ROOT, 'iso/cache/grub-debs') } });
    expect((await readFile(rebuilt)).equals(await readFile(join(ROOT, 'grub/biosgrub.img')))).toBe(true);

    // Control: the same build with another built-in config is not the committed image.
    const copy = join(dir, 'grub');
    await execa('cp', ['-r', join(ROOT, 'grub'), copy]);
    await writeFile(join(copy, 'early.cfg'), (await readFile(join(copy, 'early.cfg'), 'utf8')).replace('bios.cfg', 'other.cfg'));
    await execa('mkdir', ['-p', join(dir, 'scripts/fixtures')]);
    await copyFile(join(ROOT, 'scripts/fixtures/fetch-debs.sh'), join(dir, 'scripts/fixtures/fetch-debs.sh'));
    const other = join(dir, 'other.img');
    await execa('bash', [join(copy, 'build.sh'), other], { env: { GRUB_DEBS_DIR: join(ROOT, 'iso/cache/grub-debs') } });
    expect((await readFile(other)).equals(await readFile(join(ROOT, 'grub/biosgrub.img')))).toBe(false);
  });

  it('starts with lnxboot.img, so ISOLINUX can load it as a kernel', async () => {
    const image = await readFile(join(ROOT, 'grub/biosgrub.img'));
    // A Linux boot-protocol header: "HdrS" at offset 0x202.
    expect(image.toString('latin1', 0x202, 0x206)).toBe('HdrS');
  });
});
