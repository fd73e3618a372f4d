// One of CliPool's processes (cli-pool.ts): runs the CLI's main() — what bin.ts runs — once
// per job, with the job's arguments and environment, and sends back its exit code, stdout and
// stderr. A Ctrl-C reaches it as a real SIGINT (the fake sends it to this pid) and is handled
// by the running command's own handler. With `ctrlCAfter`, the Ctrl-C comes exactly at a step
// boundary: the moment that step reports that it finished.
import { main } from '../../src/cli.js';

export interface Job {
  args: string[];
  env: Record<string, string>;
  ctrlCAfter?: string;
}

export interface JobResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Asks for what the running job has printed so far (answered with PrintedSoFar). */
export interface Dump {
  dump: true;
}

export interface PrintedSoFar {
  partial: true;
  stdout: string;
  stderr: string;
}

/** What the running job has printed, for a Dump: a job that never ends still tells where it stopped. */
let printed: { stdout: string[]; stderr: string[] } | undefined;

type Write = typeof process.stdout.write;

/** Collects what a stream is given instead of writing it (a write's callback still runs). */
function capture(stream: NodeJS.WriteStream, into: string[], seen?: (text: string) => void): () => void {
  const original = stream.write;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    into.push(text);
    seen?.(text);
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    if (done) queueMicrotask(done);
    return true;
  }) as Write;
  return () => {
    stream.write = original;
  };
}

process.on('message', async (message: Job | Dump) => {
  if ('dump' in message) {
    process.send!({ partial: true, stdout: printed?.stdout.join('') ?? '', stderr: printed?.stderr.join('') ?? '' } satisfies PrintedSoFar);
    return;
  }
  const job = message;
  const stdout: string[] = [];
  const stderr: string[] = [];
  printed = { stdout, stderr };
  let interrupted = false;
  const restore = [
    capture(process.stdout, stdout),
    capture(process.stderr, stderr, (text) => {
      if (job.ctrlCAfter && !interrupted && text.startsWith(`✔ ${job.ctrlCAfter} (`)) {
        interrupted = true;
        process.emit('SIGINT', 'SIGINT');
      }
    }),
  ];
  let exitCode: number;
  try {
    exitCode = await main(['node', 'vultr-sid-iso', ...job.args], job.env);
  } finally {
    for (const r of restore) r();
  }
  process.send!({ exitCode, stdout: stdout.join(''), stderr: stderr.join('') } satisfies JobResult);
});
