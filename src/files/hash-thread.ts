// The body of a HashWorker's thread (see hash-worker.ts). Synchronous reads into one buffer:
// the thread has nothing else to do, and memory stays flat however large the file is.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { ABANDONED, HEAD_BYTES, type HashReply, type HashRequest } from './hash-protocol.js';

const buffer = Buffer.allocUnsafe(1 << 20);
const PROGRESS_EVERY = 8 << 20;

/** Feeds bytes [from, to) of fd to every hash; onBytes gets the offset reached after each read. */
function hashRange(fd: number, from: number, to: number, hashes: Hash[], onBytes?: (at: number) => void): void {
  let at = from;
  while (at < to) {
    const n = readSync(fd, buffer, 0, Math.min(buffer.length, to - at), at);
    if (n <= 0) throw new Error(`file ended at byte ${at}, expected ${to}`);
    for (const h of hashes) h.update(buffer.subarray(0, n));
    at += n;
    onBytes?.(at);
  }
}

function hashWhole(path: string, algorithms: string[]): string[] {
  const hashes = algorithms.map((a) => createHash(a));
  const fd = openSync(path, 'r');
  try {
    hashRange(fd, 0, fstatSync(fd).size, hashes);
  } finally {
    closeSync(fd);
  }
  return hashes.map((h) => h.digest('hex'));
}

/** Hashes a file while another process appends to it, until the control block gives its final size. */
function follow(m: Extract<HashRequest, { op: 'follow' }>, progress: (bytes: number) => void): string[] {
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
      if (end === ABANDONED) throw Object.assign(new Error('abandoned'), { code: 'ABORT_ERR' });
      const target = end >= 0n ? Number(end) : fstatSync(fd).size;
      hashRange(fd, done, target, hashes, (at) => {
        if (done < HEAD_BYTES) head.update(buffer.subarray(0, Math.min(at, HEAD_BYTES) - done));
        done = at;
        if (done - reported >= PROGRESS_EVERY) {
          reported = done;
          progress(done);
        }
      });
      if (end >= 0n) break;
      Atomics.wait(wake, 0, 0, 25);
    }
    // A writer that went back and rewrote the head (xorriso's TOC emulation does) would
    // otherwise leave digests of stale bytes.
    const again = createHash('sha256');
    hashRange(fd, 0, Math.min(done, HEAD_BYTES), [again]);
    if (again.digest('hex') !== head.digest('hex')) {
      throw Object.assign(new Error('the writer changed the start of the file after writing it'), { code: 'EREWRITTEN' });
    }
    return hashes.map((h) => h.digest('hex'));
  } finally {
    closeSync(fd);
  }
}

const port = parentPort!;
port.on('message', (m: HashRequest) => {
  const reply = (r: Omit<HashReply, 'id'>) => port.postMessage({ id: m.id, ...r } satisfies HashReply);
  try {
    const digests = m.op === 'file' ? hashWhole(m.path, m.algorithms) : follow(m, (progress) => reply({ progress }));
    reply({ digests });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    reply({ error: { message: e.message, code: e.code } });
  }
});
