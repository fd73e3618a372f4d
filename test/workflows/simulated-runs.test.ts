// What each trigger runs, judged the way GitHub judges it: the workflows parsed by
// @actions/workflow-parser and every condition, matrix and env: value evaluated by
// @actions/expressions on the context that trigger really carries (test/helpers/workflow-sim.ts,
// workflow-triggers.ts). The intended table is asserted here and printed in docs/ci.md; the
// old publish condition, run through the same simulator, fails the schedule row.
// UPDATE_DOCS=1 npx vitest run test/workflows/simulated-runs.test.ts rewrites the page's table.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/project.js';
import { loadWorkflow, simulate, type Run, type SimOptions, type Workflow } from '../helpers/workflow-sim.js';
import { cell, markdownTable, NOT_RUN, withBlock, type Column } from '../helpers/workflow-table.js';
import { dispatch, pullRequest, push, schedule, type InputValue, type Trigger } from '../helpers/workflow-triggers.js';

// The repository's set-up as docs/ci.md describes it: the vultr environment admits main only and
// holds the secrets; the S3 variables are set.
const SETUP: SimOptions = {
  environments: { vultr: { branches: ['main'], secrets: ['VULTR_API_KEY', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] } },
  vars: ['S3_ENDPOINT', 'S3_BUCKET'],
};

/** The condition publish had until issue 20: on a schedule the right side is "refs/heads/". */
const OLD_PUBLISH_IF = "github.ref == format('refs/heads/{0}', github.event.repository.default_branch) && (github.event_name == 'schedule' || inputs.publish)";

const JOBS: Column[] = [
  ['test', 'ci: test'],
  ['build', 'build'],
  ['publish', 'publish'],
  ['acceptance', 'acceptance'],
  ['keep-schedule-alive', 'keep schedule alive'],
];
const STEPS: Column[] = [
  ['build.digest', 'build: hash for publish'],
  ['build.attest', 'build: attest'],
  ['publish.artifact', 'publish: digest check'],
  ['publish.publish', 'publish: publish'],
  ['publish.smoke', 'publish: smoke VM'],
  ['publish.smoke-cleanup', 'publish: smoke VM clean-up'],
  ['acceptance.acceptance', 'acceptance: run'],
  ['acceptance.acceptance-cleanup', 'acceptance: clean-up'],
];

/** The nightly with one job's `if:` replaced, parsed again from its YAML. */
async function nightlyWith(job: string, condition: string): Promise<Workflow> {
  const doc = yaml.load(await readFile(join(ROOT, '.github/workflows/nightly.yml'), 'utf8')) as { jobs: Record<string, { if?: string }> };
  doc.jobs[job]!.if = condition;
  return loadWorkflow('.github/workflows/nightly.yml', yaml.dump(doc, { lineWidth: -1 }));
}

let ci: Workflow;
let nightly: Workflow;
/** The control: the nightly as it was, with the old publish condition. */
let oldNightly: Workflow;
let cron: string;

beforeAll(async () => {
  ci = await loadWorkflow('.github/workflows/ci.yml');
  nightly = await loadWorkflow('.github/workflows/nightly.yml');
  oldNightly = await nightlyWith('publish', OLD_PUBLISH_IF);
  cron = nightly.template.events.schedule![0]!.cron;
});

const both = (trigger: Trigger, wf = nightly): Run[] => [ci, wf].map((w) => simulate(w, trigger, SETUP));

function scenarios(): { trigger: string; runs: Run[] }[] {
  const rows: Trigger[] = [
    schedule(cron),
    dispatch('main', {}, 'dispatch on main (defaults)'),
    dispatch('main', { publish: false }, 'dispatch on main, publish off'),
    dispatch('main', { 'smoke-vm': true }, 'dispatch on main, smoke-vm'),
    dispatch('main', { acceptance: true }, 'dispatch on main, acceptance'),
    dispatch('main', { acceptance: true, publish: false }, 'dispatch on main, acceptance, publish off'),
    dispatch('main', { 'second-config': true }, 'dispatch on main, second-config'),
    dispatch('feature', { publish: true, 'smoke-vm': true, acceptance: true, 'second-config': true }, 'dispatch on another branch, every input on'),
    push('main'),
    push('feature'),
    pullRequest({ fork: false }),
    pullRequest({ fork: true }),
  ];
  return [
    ...rows.map((t) => ({ trigger: t.label, runs: both(t) })),
    { trigger: 'control: schedule, with the old publish condition', runs: both(schedule(cron), oldNightly) },
  ];
}

const row = (runs: Run[], columns: Column[]) => Object.fromEntries(columns.map(([k]) => [k, cell(runs, k)]));
const ciOnly = { test: 'runs ×3', build: NOT_RUN, publish: NOT_RUN, acceptance: NOT_RUN, 'keep-schedule-alive': NOT_RUN };

describe('simulated runs of ci.yml and nightly.yml, by trigger', () => {
  it('do what the project intends: a schedule builds, attests and publishes; a dispatch on main publishes unless told not to; another branch never reaches the vultr environment; a pull request runs CI only', () => {
    const intended: Record<string, Record<string, string>> = {
      schedule: { test: NOT_RUN, build: 'runs', publish: 'runs', acceptance: 'skipped', 'keep-schedule-alive': 'runs' },
      'dispatch on main (defaults)': { test: NOT_RUN, build: 'runs', publish: 'runs', acceptance: 'skipped', 'keep-schedule-alive': 'skipped' },
      'dispatch on main, publish off': { test: NOT_RUN, build: 'runs', publish: 'skipped', acceptance: 'skipped', 'keep-schedule-alive': 'skipped' },
      'dispatch on main, smoke-vm': { test: NOT_RUN, build: 'runs', publish: 'runs', acceptance: 'skipped', 'keep-schedule-alive': 'skipped' },
      'dispatch on main, acceptance': { test: NOT_RUN, build: 'runs', publish: 'runs', acceptance: 'runs', 'keep-schedule-alive': 'skipped' },
      'dispatch on main, acceptance, publish off': { test: NOT_RUN, build: 'runs', publish: 'skipped', acceptance: 'runs', 'keep-schedule-alive': 'skipped' },
      'dispatch on main, second-config': { test: NOT_RUN, build: 'runs ×2', publish: 'runs ×2', acceptance: 'skipped', 'keep-schedule-alive': 'skipped' },
      'dispatch on another branch, every input on': { test: NOT_RUN, build: 'runs ×2', publish: 'skipped', acceptance: 'skipped', 'keep-schedule-alive': 'skipped' },
      'push to main': ciOnly,
      'push to feature': ciOnly,
      'pull request from a branch': ciOnly,
      'pull request from a fork': ciOnly,
      // The bug this table exists for: publish never ran on a schedule.
      'control: schedule, with the old publish condition': { test: NOT_RUN, build: 'runs', publish: 'skipped', acceptance: 'skipped', 'keep-schedule-alive': 'runs' },
    };
    const got = Object.fromEntries(scenarios().map((s) => [s.trigger, row(s.runs, JOBS)]));
    expect(got).toEqual(intended);
    const steps = Object.fromEntries(scenarios().map((s) => [s.trigger, row(s.runs, STEPS)]));
    const published = { 'build.digest': 'runs', 'build.attest': 'runs', 'publish.artifact': 'runs', 'publish.publish': 'runs' };
    expect(steps.schedule).toMatchObject({ ...published, 'publish.smoke': 'skipped', 'acceptance.acceptance': NOT_RUN });
    expect(steps['dispatch on main, smoke-vm']).toMatchObject({ ...published, 'publish.smoke': 'runs', 'publish.smoke-cleanup': 'runs' });
    expect(steps['dispatch on main, acceptance, publish off']).toMatchObject({ 'build.attest': 'runs', 'publish.publish': NOT_RUN, 'acceptance.acceptance': 'runs', 'acceptance.acceptance-cleanup': 'runs' });
    expect(steps['dispatch on main, second-config']).toMatchObject({ 'build.attest': 'runs ×2', 'publish.artifact': 'runs ×2', 'publish.publish': 'runs ×2' });
  });

  it('are the tables in docs/ci.md (UPDATE_DOCS=1 rewrites them)', async () => {
    const rows = scenarios();
    const block = `${markdownTable(rows, JOBS)}\n\nThe steps that matter (a job that does not run runs none):\n\n${markdownTable(rows, STEPS)}`;
    const path = join(ROOT, 'docs/ci.md');
    const expected = withBlock(await readFile(path, 'utf8'), 'workflow-table', block);
    if (process.env.UPDATE_DOCS === '1') await writeFile(path, expected);
    expect(await readFile(path, 'utf8'), 'docs/ci.md is not what the simulator says; run UPDATE_DOCS=1 npx vitest run test/workflows/simulated-runs.test.ts').toBe(expected);
  });

  it('a scheduled run reaches publish with the digest check and the attestation in place, wired leg by leg', () => {
    const run = simulate(nightly, schedule(cron), SETUP);
    const [build] = run.jobs.build!.legs;
    const [publish] = run.jobs.publish!.legs;
    expect(run.jobs.build!.result).toBe('success');
    const step = (leg: typeof build, id: string) => leg!.steps.find((s) => s.id === id)!;
    // The build attests with the pinned action, after the install gate, from the digest step's list.
    const attest = step(build, 'attest');
    expect(attest.ran).toBe(true);
    expect(attest.uses).toMatch(/^actions\/attest-build-provenance@[0-9a-f]{40}$/);
    expect(build!.steps.findIndex((s) => s.id === 'attest')).toBeGreaterThan(build!.steps.findIndex((s) => s.id === 'install'));
    expect(step(build, 'digest').run).toContain(`--subjects ${attest.with['subject-checksums']}`);
    expect(run.jobs.build!.outputs).toEqual({ 'sha512-0': '<build[0].digest.sha512>', 'attestation-0': '<build[0].attest.attestation-url>' });
    // Publish downloads that leg's artifact and checks it against that leg's digest before publishing.
    expect(step(publish, '__actions_download-artifact').with.name).toBe(step(build, '__actions_upload-artifact').with.name);
    const check = step(publish, 'artifact');
    expect(check.ran).toBe(true);
    expect(check.env).toMatchObject({ EXPECTED: '<build[0].digest.sha512>', ATTESTATION: '<build[0].attest.attestation-url>' });
    expect(publish!.steps.findIndex((s) => s.id === 'artifact')).toBeLessThan(publish!.steps.findIndex((s) => s.id === 'publish'));
    const pub = step(publish, 'publish');
    expect(pub.ran).toBe(true);
    expect(pub.env).toMatchObject({ ATTESTATION: '<build[0].attest.attestation-url>', KEEP: '', VULTR_API_KEY: '<secret VULTR_API_KEY>', MANIFEST: '<publish[0].artifact.manifest>' });
    expect(pub.run).toContain('--attestation "$ATTESTATION"');
    // The matrix and env: of a schedule, which has no inputs: one config, keep from the config.
    expect(run.jobs.build!.legs.map((l) => l.matrix)).toEqual([{ config: 'iso.config.yaml' }]);
    expect(run.jobs.publish!.legs.map((l) => l.matrix)).toEqual([{ index: '0' }]);
  });

  it('with two configs, each publish leg checks its own build leg\'s digest, and acceptance gets the first config\'s ISO', () => {
    const run = simulate(nightly, dispatch('main', { 'second-config': true, acceptance: true }), SETUP);
    expect(run.jobs.build!.legs.map((l) => l.matrix.config)).toEqual(['iso.config.yaml', 'configs/sid-d-i.yaml']);
    for (const leg of run.jobs.publish!.legs) {
      const i = leg.index;
      const uploaded = run.jobs.build!.legs[i]!.steps.find((s) => s.id === '__actions_upload-artifact')!.with.name;
      expect(leg.steps.find((s) => s.id === '__actions_download-artifact')!.with.name).toBe(uploaded);
      expect(leg.steps.find((s) => s.id === 'artifact')!.env.EXPECTED).toBe(`<build[${i}].digest.sha512>`);
      expect(leg.steps.find((s) => s.id === 'publish')!.env.KEEP).toBe('1');
    }
    expect(run.jobs.publish!.outputs).toEqual({ 'iso-id-0': '<publish[0].publish.vultr-iso-id>' });
    const acceptance = run.jobs.acceptance!.legs[0]!.steps.find((s) => s.id === 'acceptance')!;
    expect(acceptance.env.ISO_ID).toBe('<publish[0].publish.vultr-iso-id>');
    expect(acceptance.run).toContain('${ISO_ID:+--iso "$ISO_ID"}');
    // Publish skipped by the dispatch: no ISO id, so the acceptance run makes its own.
    const own = simulate(nightly, dispatch('main', { publish: false, acceptance: true }), SETUP);
    expect(own.jobs.acceptance!.legs[0]!.steps.find((s) => s.id === 'acceptance')!.env.ISO_ID).toBe('');
  });

  it('a dispatch carries keep and second-config into publish through env: only', () => {
    const keep = (inputs: Record<string, InputValue>) => simulate(nightly, dispatch('main', inputs), SETUP).jobs.publish!.legs.map((l) => l.steps.find((s) => s.id === 'publish')!.env.KEEP);
    expect(keep({})).toEqual(['']);
    expect(keep({ keep: '3' })).toEqual(['3']);
    expect(keep({ 'second-config': true })).toEqual(['1', '1']);
    expect(keep({ 'second-config': true, keep: '2' })).toEqual(['2', '2']);
  });

  it('every dispatch input combination, on main and on another branch, keeps the rules', () => {
    const flags = ['publish', 'smoke-vm', 'acceptance', 'second-config'] as const;
    let combos = 0;
    for (let bits = 0; bits < 1 << flags.length; bits++) {
      for (const keep of ['', '2']) {
        const inputs: Record<string, InputValue> = Object.fromEntries(flags.map((f, i) => [f, Boolean(bits & (1 << i))]));
        inputs.keep = keep;
        for (const branch of ['main', 'feature']) {
          combos++;
          const run = simulate(nightly, dispatch(branch, inputs), SETUP);
          const legs = inputs['second-config'] ? 2 : 1;
          const where = `${branch} ${JSON.stringify(inputs)}`;
          expect(run.jobs.build!.legs, where).toHaveLength(legs);
          for (const job of Object.values(run.jobs)) {
            // Never a job in the vultr environment from another branch: not even one that the
            // environment's rule would then stop (the rule is the second line, not the first).
            if (job.environment === 'vultr' || ['publish', 'acceptance'].includes(job.id)) {
              if (branch !== 'main') expect(job.result, `${job.id} ${where}`).toBe('skipped');
              expect(job.blocked, `${job.id} ${where}`).toBeUndefined();
            }
          }
          if (branch !== 'main') continue;
          expect(run.jobs.publish!.result, where).toBe(inputs.publish ? 'success' : 'skipped');
          expect(run.jobs.acceptance!.result, where).toBe(inputs.acceptance ? 'success' : 'skipped');
          if (inputs.publish) {
            expect(run.jobs.publish!.legs, where).toHaveLength(legs);
            for (const leg of run.jobs.publish!.legs) {
              const ran = (id: string) => leg.steps.find((s) => s.id === id)!.ran;
              expect([ran('artifact'), ran('publish'), ran('smoke'), ran('smoke-cleanup')], where).toEqual([true, true, Boolean(inputs['smoke-vm']), Boolean(inputs['smoke-vm'])]);
            }
          }
        }
      }
    }
    expect(combos).toBe(64);
  });

  it('the old publish condition, through the same simulator, skips publish on every schedule (the control)', () => {
    const old = oldNightly;
    const scheduled = simulate(old, schedule(cron), SETUP);
    expect(scheduled.jobs.build!.result).toBe('success');
    expect(scheduled.jobs.publish!.result).toBe('skipped');
    expect(cell([scheduled], 'publish')).not.toBe(cell([simulate(nightly, schedule(cron), SETUP)], 'publish'));
    // It is the schedule's missing repository that does it: on a dispatch from main it publishes.
    expect(simulate(old, dispatch('main'), SETUP).jobs.publish!.result).toBe('success');
  });

  it('without the branch condition, the vultr environment\'s rule stops another branch: the second line holds (the control)', async () => {
    const loose = await nightlyWith('publish', "github.event_name == 'schedule' || inputs.publish");
    const run = simulate(loose, dispatch('feature'), SETUP);
    expect(run.jobs.publish!.result).toBe('failure');
    expect(run.jobs.publish!.blocked).toContain("the vultr environment's deployment-branch rule refuses refs/heads/feature");
    expect(cell([run], 'publish')).toBe('fails: environment rule');
  });

  it('a failure stops what depends on it and the clean-ups still run (status functions, implicit success())', () => {
    const buildFails = simulate(nightly, dispatch('main', { acceptance: true }), { ...SETUP, failing: ['build.install'] });
    expect(buildFails.jobs.build!.result).toBe('failure');
    expect(buildFails.jobs.build!.legs[0]!.steps.find((s) => s.id === 'attest')!.ran).toBe(false);
    expect(buildFails.jobs.build!.legs[0]!.steps.find((s) => s.id === '__actions_upload-artifact')!.ran).toBe(true);
    expect([buildFails.jobs.publish!.result, buildFails.jobs.acceptance!.result]).toEqual(['skipped', 'skipped']);

    const publishFails = simulate(nightly, dispatch('main', { 'smoke-vm': true, acceptance: true }), { ...SETUP, failing: ['publish.publish'] });
    const steps = publishFails.jobs.publish!.legs[0]!.steps;
    expect(steps.find((s) => s.id === 'smoke')!.ran).toBe(false);
    expect(steps.find((s) => s.id === 'smoke-cleanup')!.ran).toBe(true);
    // Acceptance waits for publish and does not start after a failed one.
    expect(publishFails.jobs.acceptance!.result).toBe('skipped');

    const digestMismatch = simulate(nightly, schedule(cron), { ...SETUP, failing: ['publish.artifact'] });
    expect(digestMismatch.jobs.publish!.legs[0]!.steps.find((s) => s.id === 'publish')!.ran).toBe(false);

    const acceptanceFails = simulate(nightly, dispatch('main', { acceptance: true }), { ...SETUP, failing: ['acceptance.acceptance'] });
    expect(acceptanceFails.jobs.acceptance!.legs[0]!.steps.find((s) => s.id === 'acceptance-cleanup')!.ran).toBe(true);
  });

  it('secrets reach only the vultr jobs, and nothing from a fork', () => {
    const run = simulate(nightly, dispatch('main', { acceptance: true, 'smoke-vm': true }), SETUP);
    const envs = (job: string) => JSON.stringify(run.jobs[job]!.legs.flatMap((l) => l.steps.map((s) => s.env)));
    expect(envs('build')).not.toContain('<secret');
    expect(envs('publish')).toContain('<secret VULTR_API_KEY>');
    expect(envs('acceptance')).toContain('<secret S3_SECRET_ACCESS_KEY>');
    const fork = simulate(ci, pullRequest({ fork: true }), SETUP);
    expect(JSON.stringify(fork.jobs.test!.legs.map((l) => l.steps.map((s) => s.env)))).not.toContain('<secret');
  });
});
