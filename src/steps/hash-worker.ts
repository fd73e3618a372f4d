// Hashing off the main thread, on the second core: the base image's sha512 and the output's
// sha512 (the slow one on CPUs with SHA extensions for sha256 only) run in one worker while
// xorriso writes and the main thread moves bytes. The worker reads the output back from the
// file (page cache) as it grows, so no chunk is copied between threads and memory stays flat
// however large the ISO is.
import { Worker } from 'node:worker_threads';

// Inline, so the worker runs the same from src/ (vitest) and dist/.
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createReadStream, openSync, readSync, closeSync } = require('node:fs');
const follows = new Map();
const buffer = Buffer.allocUnsafe(1 << 20);
function catchUp(f) {
  while (f.done < f.target) {
    const n = readSync(f.fd, buffer, 0, Math.min(buffer.length, f.target - f.done), f.done);
    if (n <= 0) break;
    for (const h of f.hashes) h.update(buffer.subarray(0, n));
    f.done += n;
  }
}
parentPort.on('message', (m) => {
  try {
    if (m.op === 'file') {
      const hashes = m.algorithms.map((a) => createHash(a));
      createReadStream(m.path, { highWaterMark: 1 << 20 })
        .on('data', (c) => { for (const h of hashes) h.update(c); })
        .on('error', (e) => parentPort.postMessage({ id: m.id, error: { message: e.message, code: e.code } }))
        .on('end', () => parentPort.postMessage({ id: m.id, digests: hashes.map((h) => h.digest('hex')) }));
    } else if (m.op === 'follow') {
      follows.set(m.id, { fd: openSync(m.path, 'r'), hashes: m.algorithms.map((a) => createHash(a)), done: 0, target: 0 });
    } else if (m.op === 'advance') {
      const f = follows.get(m.id);
      f.target = Math.max(f.target, m.upTo);
      catchUp(f);
    } else if (m.op === 'end') {
      const f = follows.get(m.id);
      f.target = m.size;
      catchUp(f);
      closeSync(f.fd);
      follows.delete(m.id);
      if (f.done !== m.size) throw new Error('output shorter than written: ' + f.done + ' of ' + m.size);
      parentPort.postMessage({ id: m.id, digests: f.hashes.map((h) => h.digest('hex')) });
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { message: e.message, code: e.code } });
  }
});
`;

type Digests = Record<string, string>;
interface Reply {
  id: number;
  digests?: string[];
  error?: { message: string; code?: string };
}

export class HashWorker {
  private readonly worker = new Worker(SOURCE, { eval: true });
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (d: string[]) => void; reject: (e: Error) => void }>();

  constructor() {
    this.worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else p?.resolve(m.digests!);
    });
    this.worker.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  private request(id: number, algorithms: readonly string[]): Promise<Digests> {
    return new Promise<string[]>((resolve, reject) => this.pending.set(id, { resolve, reject })).then((d) =>
      Object.fromEntries(algorithms.map((a, i) => [a, d[i]!])),
    );
  }

  hashFile<const A extends readonly string[]>(path: string, algorithms: A): Promise<Record<A[number], string>> {
    const id = this.nextId++;
    const result = this.request(id, algorithms);
    this.worker.postMessage({ op: 'file', id, path, algorithms });
    return result as Promise<Record<A[number], string>>;
  }

  /**
   * Hashes a file that the caller is still writing sequentially: advance(n) says the first n
   * bytes are on disk; end(size) waits for the digests of exactly size bytes.
   */
  follow<const A extends readonly string[]>(path: string, algorithms: A) {
    const id = this.nextId++;
    this.worker.postMessage({ op: 'follow', id, path, algorithms });
    return {
      advance: (upTo: number): void => this.worker.postMessage({ op: 'advance', id, upTo }),
      end: (size: number): Promise<Record<A[number], string>> => {
        const result = this.request(id, algorithms);
        this.worker.postMessage({ op: 'end', id, size });
        return result as Promise<Record<A[number], string>>;
      },
    };
  }

  terminate(): void {
    void this.worker.terminate();
  }
}
