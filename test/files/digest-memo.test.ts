import { appendFile, copyFile, rename, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DigestMemo } from '../../src/files/digest-memo.js';
import { tempDir } from '../helpers/project.js';

const DIGESTS = { sha512: 'a'.repeat(128), sha256: 'b'.repeat(64) };

async function remembered(dir: string, settledMs = 0) {
  const memo = new DigestMemo(join(dir, 'digests.json'), settledMs);
  const file = join(dir, 'base.iso');
  await writeFile(file, 'an image');
  const remember = await memo.begin(file);
  await remember(DIGESTS);
  return { memo, file };
}

describe('DigestMemo', () => {
  it('returns the digests of a file that has not changed, also under another name for it', async () => {
    const dir = await tempDir();
    const { memo, file } = await remembered(dir);
    expect(await memo.lookup(file)).toEqual(DIGESTS);
    expect(await memo.lookup(join(dir, '.', 'base.iso'))).toEqual(DIGESTS);
  });

  it('forgets a file whose bytes, times or inode changed', async () => {
    for (const change of [
      (f: string) => appendFile(f, 'x'),
      (f: string) => writeFile(f, 'an imagf'), // same size, same second
      (f: string) => utimes(f, 1, 1),
      async (f: string) => {
        await copyFile(f, `${f}.new`);
        await rename(`${f}.new`, f);
      },
    ]) {
      const dir = await tempDir();
      const { memo, file } = await remembered(dir);
      await change(file);
      expect(await memo.lookup(file)).toBeUndefined();
    }
  });

  it('does not remember a file that changed just before it was hashed (it could change again unseen)', async () => {
    const dir = await tempDir();
    const { memo, file } = await remembered(dir, 60_000);
    expect(await memo.lookup(file)).toBeUndefined();
  });

  it('does not remember a file that changed while it was hashed', async () => {
    const dir = await tempDir();
    const memo = new DigestMemo(join(dir, 'digests.json'), 0);
    const file = join(dir, 'base.iso');
    await writeFile(file, 'an image');
    const remember = await memo.begin(file);
    await appendFile(file, 'more');
    await remember(DIGESTS);
    expect(await memo.lookup(file)).toBeUndefined();
  });

  it('treats an unreadable memo as empty', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'digests.json'), '{not json');
    const memo = new DigestMemo(join(dir, 'digests.json'), 0);
    expect(await memo.lookup(join(dir, 'digests.json'))).toBeUndefined();
  });
});
