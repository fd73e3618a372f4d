// What a HashWorker and its thread say to each other (hash-worker.ts, hash-thread.ts).

/** The control block of a follow: [0] is RUNNING while the writer writes, then the final size, or ABANDONED. */
export const RUNNING = -1n;
export const ABANDONED = -2n;
/** The head of a followed file is hashed again at the end, to catch a writer that rewrote it. */
export const HEAD_BYTES = 1 << 20;

export type HashRequest =
  | { id: number; op: 'file'; path: string; algorithms: string[] }
  | { id: number; op: 'follow'; path: string; algorithms: string[]; control: SharedArrayBuffer };

export interface HashReply {
  id: number;
  progress?: number;
  digests?: string[];
  error?: { message: string; code?: string };
}
