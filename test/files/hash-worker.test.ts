// The output hash follows a file while another writer appends to it.
import { createHash, randomBytes } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { HashWorker } from '../../src/files/hash-worker.js';
import { tempDir } from '../helpers/project.js';

const workers: HashWorker[] = [];
afterEach(() => workers.splice(0).forEach((w) => w.terminate()));
const worker = () => {
  const w = new HashWorker();
  workers.push(w);
  return w;
};

describe('HashWorker.followGrowing', () => {
  it('hashes exactly the bytes appended while it follows, and reports progress', async () => {
    const path = join(await tempDir(), 'out.iso');
    await writeFile(path, '');
    const progress: number[] = [];
    const follow = worker().followGrowing(path, ['sha256', 'sha512'], (n) => progress.push(n));
    const file = await open(path, 'a');
    const chunks: Buffer[] = [];
    for (let i = 0; i < 60; i++) {
      const chunk = randomBytes(150_000 + i * 1000); // sizes that do not line up with the worker's 1 MiB reads
      chunks.push(chunk);
      await file.write(chunk);
      if (i % 10 === 0) await sleep(30);
    }
    await file.close();
    const all = Buffer.concat(chunks);
    const digests = await follow.finish(all.length);
    expect(digests.sha256).toBe(createHash('sha256').update(all).digest('hex'));
    expect(digests.sha512).toBe(createHash('sha512').update(all).digest('hex'));
    expect(progress.length).toBeGreaterThan(0);
  });

  it('fails when the writer went back and changed bytes it had already written', async () => {
    const path = join(await tempDir(), 'out.iso');
    await writeFile(path, randomBytes(16 << 20));
    let headHashed!: () => void;
    const progressed = new Promise<void>((resolve) => (headHashed = resolve));
    const follow = worker().followGrowing(path, ['sha512'], () => headHashed());
    await progressed; // the first progress report comes after 8 MiB, so the head is hashed
    const file = await open(path, 'r+');
    await file.write(Buffer.from('rewritten'), 0, 9, 100);
    await file.close();
    await expect(follow.finish(16 << 20)).rejects.toMatchObject({ code: 'EREWRITTEN' });
  });

  it('fails when the file is shorter than the writer said', async () => {
    const path = join(await tempDir(), 'out.iso');
    await writeFile(path, randomBytes(1000));
    await expect(worker().followGrowing(path, ['sha512']).finish(2000)).rejects.toThrow(/ended at byte 1000/);
  });

  it('can be abandoned, and the worker is free again afterwards', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.iso');
    await writeFile(path, '');
    const w = worker();
    w.followGrowing(path, ['sha512']).abandon();
    await writeFile(join(dir, 'other'), 'abc');
    expect(await w.hashFile(join(dir, 'other'), ['sha256'])).toEqual({ sha256: createHash('sha256').update('abc').digest('hex') });
  });
});
