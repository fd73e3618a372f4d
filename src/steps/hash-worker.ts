// Hashing off the main thread. `hashFile` hashes a whole file (the base image's sha512);
// `followGrowing` hashes a file that another process (xorriso) is still appending to, reading
// it back from the page cache as it grows, so the output is hashed without a second pass and
// without its bytes passing through this process. Memory stays flat however large the ISO is.
// Each job keeps its worker busy until it is done (synchronous reads into one buffer), so
// there is one worker per job, which also spreads the hashing over both cores.
import { Worker } from 'node:worker_threads';

// Control block shared with a follow: [0] is -1 while the writer runs, then the final size,
// or -2 when the follow is abandoned; [2] (Int32 view) is what the worker sleeps on.
const RUNNING = -1n;
const ABANDONED = -2n;
// The head of the file is hashed a second time at the end: a writer that went back and
// rewrote it (xorriso's TOC emulation does) would otherwise leave digests of stale bytes.
const HEAD_BYTES = 1 << 20;

// Inline, so the worker runs the same from src/ (vitest) and dist/.
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, fstatSync, closeSync } = require('node:fs');
const buffer = Buffer.allocUnsafe(1 << 20);
const PROGRESS_EVERY = 8 << 20;
function hashRange(fd, from, to, hashes, onBytes) {
  let at = from;
  while (at < to) {
    const n = readSync(fd, buffer, 0, Math.min(buffer.length, to - at), at);
    if (n <= 0) throw new Error('file ended at byte ' + at + ', expected ' + to);
    for (const h of hashes) h.update(buffer.subarray(0, n));
    at += n;
    if (onBytes) onBytes(at);
  }
}
function follow(m) {
  const control = new BigInt64Array(m.control, 0, 1);
  const wake = new Int32Array(m.control, 8, 1);
  const fd = openSync(m.path, 'r');
  try {
    const hashes = m.algorithms.map((a) => createHash(a));
    const head = createHash('sha256');
    let done = 0;
    let reported = 0;
    for (;;) {
      const end = Atomics.load(control, 0);
      if (end === ${ABANDONED}n) return { error: { message: 'abandoned', code: 'ABORT_ERR' } };
      const target = end >= 0n ? Number(end) : fstatSync(fd).size;
      hashRange(fd, done, target, hashes, (at) => {
        if (done < ${HEAD_BYTES}) head.update(buffer.subarray(0, Math.min(at, ${HEAD_BYTES}) - done));
        done = at;
        if (done - reported >= PROGRESS_EVERY) { reported = done; parentPort.postMessage({ id: m.id, progress: done }); }
      });
      if (end >= 0n) break;
      Atomics.wait(wake, 0, 0, 25);
    }
    const again = createHash('sha256');
    hashRange(fd, 0, Math.min(done, ${HEAD_BYTES}), [again]);
    if (again.digest('hex') !== head.digest('hex')) {
      return { error: { message: 'the writer changed the start of the file after writing it', code: 'EREWRITTEN' } };
    }
    return { digests: hashes.map((h) => h.digest('hex')) };
  } finally {
    closeSync(fd);
  }
}
parentPort.on('message', (m) => {
  try {
    if (m.op === 'file') {
      // Synchronous into one buffer: this worker has nothing else to do, and memory stays flat.
      const hashes = m.algorithms.map((a) => createHash(a));
      const fd = openSync(m.path, 'r');
      try {
        hashRange(fd, 0, fstatSync(fd).size, hashes);
      } finally {
        closeSync(fd);
      }
      parentPort.postMessage({ id: m.id, digests: hashes.map((h) => h.digest('hex')) });
    } else if (m.op === 'follow') {
      parentPort.postMessage({ id: m.id, ...follow(m) });
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { message: e.message, code: e.code } });
  }
});
`;

type Digests<A extends readonly string[]> = Record<A[number], string>;
interface Reply {
  id: number;
  progress?: number;
  digests?: string[];
  error?: { message: string; code?: string };
}
interface Pending {
  resolve: (d: string[]) => void;
  reject: (e: Error) => void;
  onProgress?: (bytes: number) => void;
}

export interface GrowingFileHash<A extends readonly string[]> {
  /** The writer has finished and the file is `size` bytes: hash the rest, return the digests. */
  finish(size: number): Promise<Digests<A>>;
  /** The writer failed: stop reading (the promise from finish, if any, rejects). */
  abandon(): void;
}

export class HashWorker {
  private readonly worker = new Worker(SOURCE, { eval: true });
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor() {
    this.worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (m.progress !== undefined) return p?.onProgress?.(m.progress);
      this.pending.delete(m.id);
      if (m.error) p?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else p?.resolve(m.digests!);
    });
    this.worker.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  private request<const A extends readonly string[]>(message: object, algorithms: A, onProgress?: (bytes: number) => void): Promise<Digests<A>> {
    const id = this.nextId++;
    const result = new Promise<string[]>((resolve, reject) => this.pending.set(id, { resolve, reject, onProgress }));
    this.worker.postMessage({ ...message, id, algorithms });
    return result.then((d) => Object.fromEntries(algorithms.map((a, i) => [a, d[i]!])) as Digests<A>);
  }

  hashFile<const A extends readonly string[]>(path: string, algorithms: A): Promise<Digests<A>> {
    return this.request({ op: 'file', path }, algorithms);
  }

  /**
   * Hashes a file that another process is writing strictly in order from byte 0 (the file
   * must exist already). Keeps this worker busy until finish() or abandon().
   */
  followGrowing<const A extends readonly string[]>(path: string, algorithms: A, onProgress?: (bytes: number) => void): GrowingFileHash<A> {
    const control = new SharedArrayBuffer(16);
    const end = new BigInt64Array(control, 0, 1);
    const wake = new Int32Array(control, 8, 1);
    end[0] = RUNNING;
    const digests = this.request({ op: 'follow', path, control }, algorithms, onProgress);
    digests.catch(() => undefined); // rejected only after abandon(), or awaited through finish()
    const signal = (value: bigint) => {
      Atomics.store(end, 0, value);
      Atomics.store(wake, 0, 1);
      Atomics.notify(wake, 0);
    };
    return {
      finish: (size) => {
        signal(BigInt(size));
        return digests;
      },
      abandon: () => signal(ABANDONED),
    };
  }

  terminate(): void {
    void this.worker.terminate();
  }
}
