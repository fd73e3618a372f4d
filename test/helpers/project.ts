// Paths and a runner for the compiled CLI (npm test compiles before running vitest).
import { execa, type Options } from 'execa';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, onTestFinished } from 'vitest';
import { PROJECT_ROOT } from '../../src/paths.js';

export const ROOT = PROJECT_ROOT;
export const CLI = join(ROOT, 'dist/src/bin.js');

/** Runs `vultr-sid-iso ARGS`; never throws, so tests can assert on exit codes. */
export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** `onSpawn` learns the CLI's pid before it can make a request (a fake that sends Ctrl-C needs it). */
export async function runCli(args: string[], options: Options & { onSpawn?: (pid: number) => void; nodeArgs?: string[] } = {}): Promise<CliResult> {
  const { onSpawn, nodeArgs = [], ...execaOptions } = options;
  const child = execa(process.execPath, [...nodeArgs, CLI, ...args], { reject: false, cwd: ROOT, ...execaOptions, env: { NO_COLOR: '1', ...execaOptions.env } });
  if (child.pid !== undefined) onSpawn?.(child.pid);
  const r = await child;
  return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** A temporary directory removed when the test finishes. */
/** The Debian packages npm test needs: every package of scripts/ensure-setup.sh's test mode, once each. */
export function testPackages(): string[] {
  const setup = readFileSync(join(ROOT, 'scripts/ensure-setup.sh'), 'utf8');
  const pairs = ['test_tools', 'test_files'].flatMap((v) => (new RegExp(`^${v}="([^"]*)"`, 'm').exec(setup)?.[1] ?? '').split(/\s+/).filter(Boolean));
  return [...new Set(pairs.map((p) => p.slice(p.lastIndexOf(':') + 1)))];
}

export async function tempDir(prefix = 'vsi-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The committed config rendered with `build --render-only` once for the calling test file:
 * `dir` holds the artifacts, `top` (its parent) is scratch space; both go after the file.
 */
export function useRenderedConfig(): { readonly dir: string; readonly top: string } {
  const paths = { dir: '', top: '' };
  beforeAll(async () => {
    paths.top = await mkdtemp(join(tmpdir(), 'vsi-render-'));
    paths.dir = join(paths.top, 'rendered');
    const r = await runCli(['build', '--render-only', paths.dir]);
    expect(r.exitCode, r.stderr).toBe(0);
  });
  afterAll(() => rm(paths.top, { recursive: true, force: true }));
  return paths;
}
