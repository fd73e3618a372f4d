// What each trigger runs, judged the way GitHub judges it: the workflows parsed by
// @actions/workflow-parser and every condition, matrix and env: value evaluated by
// @actions/expressions on the context that trigger really carries (test/helpers/workflow-sim.ts,
// workflow-triggers.ts). The intended table is asserted here and printed in docs/ci.md, with
// the Sigstore instance each attest step signs with (actions/attest's own condition on the
// run's payload). The schedule only dispatches the nightly; the run it dispatches is simulated
// from that step. The controls: the nightly before issue 30 (the schedule building itself)
// signs with GitHub's private instance, and the publish condition before issue 20 skips publish
// on every schedule.
// UPDATE_DOCS=1 npx vitest run test/workflows/simulated-runs.test.ts rewrites the page's table.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/project.js';
import { loadWorkflow, sigstoreInstance, simulate, type Run, type SimOptions, type Workflow } from '../helpers/workflow-sim.js';
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
/** Publish's condition from issue 20 to 30, when the scheduled run built and published itself. */
const SCHEDULE_PUBLISHES_IF = "github.event_name == 'schedule' || (github.event_name == 'workflow_dispatch' && inputs.publish && github.ref == format('refs/heads/{0}', github.event.repository.default_branch))";

const JOBS: Column[] = [
  ['test', 'ci: test'],
  ['on-schedule', 'on schedule: dispatch, keep alive'],
  ['build', 'build'],
  ['publish', 'publish'],
  ['acceptance', 'acceptance'],
];
const STEPS: Column[] = [
  ['build.digest', 'build: hash for publish'],
  ['build.attest', 'build: attest'],
  ['build.attest:sigstore', 'Sigstore instance'],
  ['publish.artifact', 'publish: digest check'],
  ['publish.publish', 'publish: publish'],
  ['publish.smoke', 'publish: smoke VM'],
  ['publish.smoke-cleanup', 'publish: smoke VM clean-up'],
  ['acceptance.acceptance', 'acceptance: run'],
  ['acceptance.acceptance-cleanup', 'acceptance: clean-up'],
];

type NightlyDoc = { jobs: Record<string, { if?: string }> };

/** The nightly changed by `edit`, parsed again from its YAML. */
async function nightlyEdited(edit: (doc: NightlyDoc) => void): Promise<Workflow> {
  const doc = yaml.load(await readFile(join(ROOT, '.github/workflows/nightly.yml'), 'utf8')) as NightlyDoc;
  edit(doc);
  return loadWorkflow('.github/workflows/nightly.yml', yaml.dump(doc, { lineWidth: -1 }));
}

/** The nightly with one job's `if:` replaced. */
const nightlyWith = (job: string, condition: string) => nightlyEdited((doc) => (doc.jobs[job]!.if = condition));

/** The nightly as it was before issue 30: the scheduled run builds, attests and publishes itself. */
function scheduleBuildsItself(doc: NightlyDoc, publishIf = SCHEDULE_PUBLISHES_IF): void {
  delete doc.jobs['on-schedule'];
  delete doc.jobs.build!.if;
  doc.jobs.publish!.if = publishIf;
}

let ci: Workflow;
let nightly: Workflow;
/** The controls: the nightly before issue 30, and that one with the publish condition before issue 20. */
let before30: Workflow;
let oldNightly: Workflow;
let cron: string;

beforeAll(async () => {
  ci = await loadWorkflow('.github/workflows/ci.yml');
  nightly = await loadWorkflow('.github/workflows/nightly.yml');
  before30 = await nightlyEdited((doc) => scheduleBuildsItself(doc));
  oldNightly = await nightlyEdited((doc) => scheduleBuildsItself(doc, OLD_PUBLISH_IF));
  cron = nightly.template.events.schedule![0]!.cron;
});

const both = (trigger: Trigger, wf = nightly): Run[] => [ci, wf].map((w) => simulate(w, trigger, SETUP));

/** The run the schedule's dispatch step starts, read from that step as simulated: its workflow, its ref, the inputs' defaults. */
function scheduledDispatch(): Trigger {
  const run = simulate(nightly, schedule(cron), SETUP);
  const step = run.jobs['on-schedule']!.legs[0]!.steps.find((s) => s.id === 'dispatch')!;
  expect(step.ran).toBe(true);
  expect(step.run).toBe('gh workflow run "$WORKFLOW" --repo "$REPO" --ref "$REF"');
  expect(step.env.WORKFLOW).toBe(nightly.file.split('/').pop());
  return dispatch(step.env.REF!, {}, `schedule → its dispatch on ${step.env.REF}`, { sender: 'github-actions[bot]' });
}

function scenarios(): { trigger: string; runs: Run[] }[] {
  const rows: Trigger[] = [
    schedule(cron),
    scheduledDispatch(),
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
    { trigger: 'control: schedule, building and publishing itself (before issue 30)', runs: both(schedule(cron), before30) },
    { trigger: 'control: that, with the publish condition before issue 20', runs: both(schedule(cron), oldNightly) },
  ];
}

const row = (runs: Run[], columns: Column[]) => Object.fromEntries(columns.map(([k]) => [k, cell(runs, k)]));
const ciOnly = { test: 'runs ×3', 'on-schedule': NOT_RUN, build: NOT_RUN, publish: NOT_RUN, acceptance: NOT_RUN };
const nightlyRow = (build: string, publish: string, acceptance: string) => ({ test: NOT_RUN, 'on-schedule': 'skipped', build, publish, acceptance });

describe('simulated runs of ci.yml and nightly.yml, by trigger', () => {
  it('do what the project intends: a schedule dispatches the nightly, which builds, attests and publishes; a dispatch on main publishes unless told not to; another branch never reaches the vultr environment; a pull request runs CI only', () => {
    const intended: Record<string, Record<string, string>> = {
      schedule: { test: NOT_RUN, 'on-schedule': 'runs', build: 'skipped', publish: 'skipped', acceptance: 'skipped' },
      'schedule → its dispatch on main': nightlyRow('runs', 'runs', 'skipped'),
      'dispatch on main (defaults)': nightlyRow('runs', 'runs', 'skipped'),
      'dispatch on main, publish off': nightlyRow('runs', 'skipped', 'skipped'),
      'dispatch on main, smoke-vm': nightlyRow('runs', 'runs', 'skipped'),
      'dispatch on main, acceptance': nightlyRow('runs', 'runs', 'runs'),
      'dispatch on main, acceptance, publish off': nightlyRow('runs', 'skipped', 'runs'),
      'dispatch on main, second-config': nightlyRow('runs ×2', 'runs ×2', 'skipped'),
      'dispatch on another branch, every input on': nightlyRow('runs ×2', 'skipped', 'skipped'),
      'push to main': ciOnly,
      'push to feature': ciOnly,
      'pull request from a branch': ciOnly,
      'pull request from a fork': ciOnly,
      // Before issue 30 the schedule published itself…
      'control: schedule, building and publishing itself (before issue 30)': { test: NOT_RUN, 'on-schedule': NOT_RUN, build: 'runs', publish: 'runs', acceptance: 'skipped' },
      // …and before issue 20 it never published at all.
      'control: that, with the publish condition before issue 20': { test: NOT_RUN, 'on-schedule': NOT_RUN, build: 'runs', publish: 'skipped', acceptance: 'skipped' },
    };
    const got = Object.fromEntries(scenarios().map((s) => [s.trigger, row(s.runs, JOBS)]));
    expect(got).toEqual(intended);
    const steps = Object.fromEntries(scenarios().map((s) => [s.trigger, row(s.runs, STEPS)]));
    const published = { 'build.digest': 'runs', 'build.attest': 'runs', 'publish.artifact': 'runs', 'publish.publish': 'runs' };
    expect(steps['schedule → its dispatch on main']).toMatchObject({ ...published, 'publish.smoke': 'skipped', 'acceptance.acceptance': NOT_RUN });
    expect(steps.schedule).toMatchObject({ 'build.attest': NOT_RUN, 'publish.publish': NOT_RUN });
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

  it('the schedule\'s run reaches publish with the digest check and the attestation in place, wired leg by leg', () => {
    const run = simulate(nightly, scheduledDispatch(), SETUP);
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
    // The matrix and env: of the schedule's dispatch, which gives no inputs: one config, keep from the config.
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

  it('every trigger that publishes signs with the public-good Sigstore instance; the schedule building itself signed with GitHub\'s (the control)', () => {
    const rows = scenarios();
    const publishing = rows.filter((r) => cell(r.runs, 'publish').startsWith('runs') && !r.trigger.startsWith('control'));
    expect(publishing.map((r) => r.trigger)).toEqual(['schedule → its dispatch on main', 'dispatch on main (defaults)', 'dispatch on main, smoke-vm', 'dispatch on main, acceptance', 'dispatch on main, second-config']);
    for (const r of publishing) expect(cell(r.runs, 'build.attest:sigstore'), r.trigger).toBe('public-good');
    // The acceptance run's own ISO (publish off) is attested the same way.
    expect(cell(rows.find((r) => r.trigger === 'dispatch on main, acceptance, publish off')!.runs, 'build.attest:sigstore')).toBe('public-good');
    // The bug: a scheduled run's payload is { schedule }, no repository, so actions/attest picks GitHub's instance.
    const before = rows.find((r) => r.trigger.startsWith('control: schedule, building'))!;
    expect(cell(before.runs, 'publish')).toBe('runs');
    expect(cell(before.runs, 'build.attest:sigstore')).toBe('github');
    // The condition itself: only a public repository's payload gives public-good, and private-signing overrides it.
    expect(sigstoreInstance(schedule(cron).github.event)).toBe('github');
    expect(sigstoreInstance(dispatch('main').github.event)).toBe('public-good');
    expect(sigstoreInstance(dispatch('main', {}, 'private', { visibility: 'private' }).github.event)).toBe('github');
    expect(sigstoreInstance(dispatch('main').github.event, true)).toBe('github');
  });

  it('only the jobs that touch the account share a concurrency group, never cancelled, and no other branch names it', () => {
    const groups = (t: Trigger) => Object.fromEntries(Object.values(simulate(nightly, t, SETUP).jobs).map((j) => [j.id, j.concurrency]));
    const account = { group: 'vultr-account-refs/heads/main', cancelInProgress: false };
    expect(groups(scheduledDispatch())).toEqual({ 'on-schedule': undefined, build: undefined, publish: account, acceptance: account });
    // On another branch the jobs that would touch the account are skipped, and their group is another one.
    const feature = simulate(nightly, dispatch('feature', { publish: true, acceptance: true }), SETUP);
    for (const id of ['publish', 'acceptance']) {
      expect(feature.jobs[id]!.result).toBe('skipped');
      expect(feature.jobs[id]!.concurrency?.group).toBe('vultr-account-refs/heads/feature');
    }
  });

  it('the publish condition before issue 20, through the same simulator, skips publish on every schedule (the control)', () => {
    const scheduled = simulate(oldNightly, schedule(cron), SETUP);
    expect(scheduled.jobs.build!.result).toBe('success');
    expect(scheduled.jobs.publish!.result).toBe('skipped');
    expect(cell([scheduled], 'publish')).not.toBe(cell([simulate(before30, schedule(cron), SETUP)], 'publish'));
    // It is the schedule's missing repository that does it: on a dispatch from main it publishes.
    expect(simulate(oldNightly, dispatch('main'), SETUP).jobs.publish!.result).toBe('success');
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

    const digestMismatch = simulate(nightly, scheduledDispatch(), { ...SETUP, failing: ['publish.artifact'] });
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
