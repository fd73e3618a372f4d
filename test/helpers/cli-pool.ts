// The compiled CLI in a few long-lived processes, one run at a time each: the fault matrix's
// hundreds of runs without paying, every time, for starting Node and loading the CLI (most of
// a short run's CPU). Each run is the CLI's own main() with its own arguments and environment
// (the CLI reads nothing else: test/architecture.test.ts), in a real process that a Ctrl-C
// fault signals (see cli-pool-child.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Job, JobResult } from './cli-pool-child.js';
import { ROOT, type CliResult } from './project.js';

const CHILD = join(ROOT, 'dist/test/helpers/cli-pool-child.js');

export class CliPool {
  private readonly idle: ChildProcess[] = [];
  private readonly waiting: ((child: ChildProcess) => void)[] = [];
  private readonly all = new Set<ChildProcess>();

  constructor(private readonly size: number) {}

  private spawn(): ChildProcess {
    const child = fork(CHILD, [], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
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

  /** Runs `vultr-sid-iso ARGS`; onStart learns the pid before the run can make a request. */
  async run(job: Job, options: { onStart?: (pid: number) => void; timeoutMs: number }): Promise<CliResult> {
    const child = await this.acquire();
    options.onStart?.(child.pid!);
    try {
      const result = await new Promise<JobResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`vultr-sid-iso ${job.args.join(' ')} did not end within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
        const exited = (code: number | null) => {
          clearTimeout(timer);
          reject(new Error(`the CLI's process exited (${code}) during vultr-sid-iso ${job.args.join(' ')}`));
        };
        child.once('exit', exited);
        child.once('message', (answer: JobResult) => {
          clearTimeout(timer);
          child.off('exit', exited);
          resolve(answer);
        });
        child.send(job);
      });
      return result;
    } finally {
      this.release(child);
    }
  }

  close(): void {
    for (const child of this.all) child.kill();
  }
}
