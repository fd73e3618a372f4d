// Hashing off the main thread. `hashFile` hashes a whole file (the base image's sha512);
// `followGrowing` hashes a file that another process (xorriso) is still appending to, reading
// it back from the page cache as it grows, so the output is hashed without a second pass and
// without its bytes passing through this process. Memory stays flat however large the ISO is.
// Each job keeps its worker busy until it is done (synchronous reads into one buffer), so
// there is one worker per job, which also spreads the hashing over both cores.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PROJECT_ROOT } from '../paths.js';
import { ABANDONED, RUNNING, type HashReply, type HashRequest } from './hash-protocol.js';

// The thread is compiled JavaScript: beside this module in dist/, and in dist/ as well when
// the tests load this module from src/ (npm test compiles first).
const here = fileURLToPath(import.meta.url);
const THREAD = here.endsWith('.ts') ? join(PROJECT_ROOT, 'dist/src/files/hash-thread.js') : join(dirname(here), 'hash-thread.js');

type Digests<A extends readonly string[]> = Record<A[number], string>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
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
  private readonly worker = new Worker(THREAD);
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor() {
    this.worker.on('message', (m: HashReply) => {
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

  private request<const A extends readonly string[]>(
    message: DistributiveOmit<HashRequest, 'id' | 'algorithms'>,
    algorithms: A,
    onProgress?: (bytes: number) => void,
  ): Promise<Digests<A>> {
    const id = this.nextId++;
    const result = new Promise<string[]>((resolve, reject) => this.pending.set(id, { resolve, reject, onProgress }));
    this.worker.postMessage({ ...message, id, algorithms: [...algorithms] } as HashRequest);
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
