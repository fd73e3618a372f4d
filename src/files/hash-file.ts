// Streams a file through one or more hashes in a single pass.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export async function hashFile<const A extends readonly string[]>(
  path: string,
  algorithms: A,
  onBytes?: (done: number) => void,
  signal?: AbortSignal,
): Promise<Record<A[number], string>> {
  const hashes: Hash[] = algorithms.map((a) => createHash(a));
  let done = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) {
    for (const h of hashes) h.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    onBytes?.(done);
  }
  return Object.fromEntries(algorithms.map((a, i) => [a, hashes[i]!.digest('hex')])) as Record<A[number], string>;
}

