// The compiled CLI in a few long-lived processes, one run at a time each: the fault matrix's
// hundreds of runs without paying, every time, for starting Node and loading the CLI (most of
// a short run's CPU). Each run is the CLI's own main() with its own arguments and environment
// (the CLI reads nothing else: test/architecture.test.ts), in a real process that a Ctrl-C
// fault signals (see cli-pool-child.ts). Each process has the loopback guard loaded
// (loopback-guard.ts): `refusedDials()` is what any run tried to reach beyond loopback.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guardedEnv, refusedDials } from './loopback-only.js';
import type { Dump, Job, JobResult, PrintedSoFar } from './cli-pool-child.js';
import { ROOT, type CliResult } from './project.js';

const CHILD = join(ROOT, 'dist/test/helpers/cli-pool-child.js');

export class CliPool {
  private readonly idle: ChildProcess[] = [];
  private readonly waiting: ((child: ChildProcess) => void)[] = [];
  private readonly all = new Set<ChildProcess>();
  private readonly dialLog = join(tmpdir(), `vsi-cli-pool-dials-${process.pid}-${randomBytes(4).toString('hex')}.log`);

  constructor(private readonly size: number) {}

  private spawn(): ChildProcess {
    const child = fork(CHILD, [], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, ...guardedEnv(this.dialLog) } });
    this.all.add(child);
    child.once('exit', () => this.all.delete(child));
    return child;
  }

  private async acquire(): Promise<ChildProcess> {
    const child = this.idle.pop();
    if (child) return child;
    if (this.all.size < this.size) return this.spawn();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(child: ChildProcess): void {
    const next = this.waiting.shift();
    if (!child.connected) child = this.spawn();
    if (next) next(child);
    else this.idle.push(child);
  }

  /**
   * Runs `vultr-sid-iso ARGS`; onStart learns the pid before the run can make a request. A run
   * that does not end within timeoutMs is killed and comes back with no exit code and what it
   * had printed, so the caller can say which run stuck and where.
   */
  async run(job: Job, options: { onStart?: (pid: number) => void; timeoutMs: number }): Promise<CliResult> {
    const child = await this.acquire();
    options.onStart?.(child.pid!);
    try {
      return await new Promise<CliResult>((resolve, reject) => {
        const exited = (code: number | null) => {
          clearTimeout(timer);
          reject(new Error(`the CLI's process exited (${code}) during vultr-sid-iso ${job.args.join(' ')}`));
        };
        const answered = (answer: JobResult | PrintedSoFar) => {
          clearTimeout(timer);
          child.off('exit', exited);
          child.off('message', answered);
          if ('partial' in answer) {
            child.kill('SIGKILL');
            resolve({ exitCode: undefined, stdout: answer.stdout, stderr: `${answer.stderr}\n(the run did not end within ${options.timeoutMs} ms: killed)` });
          } else resolve(answer);
        };
        const timer = setTimeout(() => {
          // A stuck run's event loop still answers; one that does not is killed all the same.
          child.send({ dump: true } satisfies Dump);
          setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
        }, options.timeoutMs);
        child.once('exit', exited);
        child.on('message', answered);
        child.send(job);
      });
    } finally {
      this.release(child);
    }
  }

  /** The connections the guard refused in any run so far (beyond loopback), one line each. */
  refusedDials(): string[] {
    return refusedDials(this.dialLog);
  }

  close(): void {
    for (const child of this.all) child.kill();
    rmSync(this.dialLog, { force: true });
  }
}
