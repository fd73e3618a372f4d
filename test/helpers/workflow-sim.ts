// A simulator of GitHub Actions' decisions for a workflow run, built on GitHub's own pieces:
// the workflow is parsed and converted by @actions/workflow-parser (which also applies the
// implicit `success() && (…)` to every job and step `if:` without a status function), and every
// expression (if:, env:, with:, strategy.matrix, job outputs) is evaluated by
// @actions/expressions' Evaluator. What GitHub's service adds, the simulator adds, from the
// sources in docs/ci.md:
//   - the status functions: for a job, success() is true when every job it depends on, directly
//     or not, succeeded (actions/runner#2205); for a step, when no earlier step failed;
//   - `needs.<job>.result` and `.outputs`, a matrix job's outputs merged from all its legs (a
//     leg's empty value overwrites nothing; two legs giving one key different values is an
//     error here, since which wins would depend on which finished last);
//   - an environment's deployment-branch rule: a job naming a protected environment from
//     another branch fails before its first step (github/roadmap#164);
//   - the secrets each job can see (workflow-triggers.ts);
//   - which Sigstore instance an actions/attest step signs with, by that action's own
//     condition on the run's event payload (sigstoreInstance), and each job's concurrency group.
// Scripts are not run: every step that runs succeeds unless the caller names it as failing,
// and a step's outputs are symbolic ("<build[0].digest.sha512>"), so a value's way from the
// step that makes it to the step that uses it can be followed.
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import { falsy } from '@actions/expressions/result';
import { convertWorkflowTemplate, isBasicExpression, isBoolean, isMapping, isNumber, isSequence, isString, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import type { Job, Step, WorkflowTemplate } from '@actions/workflow-parser/model/workflow-template';
import type { MappingToken } from '@actions/workflow-parser/templates/tokens/mapping-token';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { ROOT } from './project.js';
import type { InputValue, Trigger } from './workflow-triggers.js';

type Data = data.ExpressionData;
export type Result = 'success' | 'failure' | 'skipped';

export interface Workflow {
  file: string;
  template: WorkflowTemplate;
  /** The parsed document, for what the converted template leaves out (a step's `with:`). */
  root: MappingToken;
}

export interface StepRun {
  id: string;
  name: string;
  ran: boolean;
  outcome: Result;
  uses?: string;
  run?: string;
  env: Record<string, string>;
  with: Record<string, string>;
  /** An attest step that ran: the Sigstore instance it signs with (sigstoreInstance). */
  sigstore?: SigstoreInstance;
}

export type SigstoreInstance = 'public-good' | 'github';

/**
 * The Sigstore instance actions/attest signs with, decided by its own condition on the run's
 * event payload (actions/attest src/main.ts at v4.1.0, commit 59d89421, lines 62-66):
 *   github.context.payload.repository?.visibility === 'public' && !inputs.privateSigning
 *     ? 'public-good' : 'github'
 * actions/attest-build-provenance v4.1.0 (a2bbfa25) is a composite action that runs that
 * actions/attest commit and passes no private-signing input.
 */
export function sigstoreInstance(payload: unknown, privateSigning = false): SigstoreInstance {
  const repository = (payload as { repository?: { visibility?: unknown } } | undefined)?.repository;
  return repository?.visibility === 'public' && !privateSigning ? 'public-good' : 'github';
}

const ATTEST = /^actions\/(attest|attest-build-provenance)@/;

export interface LegRun {
  index: number;
  matrix: Record<string, string>;
  steps: StepRun[];
  result: Result;
}

export interface JobRun {
  id: string;
  result: Result;
  /** The job's concurrency group, as evaluated for this run (a job without one: undefined). */
  concurrency?: { group: string; cancelInProgress: boolean };
  /** Why a job that was not skipped by its `if:` failed before its steps. */
  blocked?: string;
  environment?: string;
  legs: LegRun[];
  outputs: Record<string, string>;
}

export interface Run {
  workflow: string;
  trigger: string;
  /** The workflow listens for the trigger's event. */
  triggered: boolean;
  jobs: Record<string, JobRun>;
}

export interface Environment {
  /** Branches that may deploy to it (Settings → Environments → Deployment branches). */
  branches: string[];
  /** Secrets it holds. */
  secrets: string[];
}

export interface SimOptions {
  /** Protected environments, by name. */
  environments?: Record<string, Environment>;
  /** Repository variables that are set. */
  vars?: string[];
  /** "job.stepId": steps that fail when they run. */
  failing?: string[];
}

const CONTEXTS = ['github', 'inputs', 'vars', 'secrets', 'env', 'matrix', 'strategy', 'needs', 'steps', 'job', 'runner'];
const FUNCTIONS = [
  { name: 'success', minArgs: 0, maxArgs: 255 },
  { name: 'failure', minArgs: 0, maxArgs: 255 },
  { name: 'cancelled', minArgs: 0, maxArgs: 0 },
  { name: 'always', minArgs: 0, maxArgs: 0 },
  { name: 'hashFiles', minArgs: 1, maxArgs: 255 },
];

/** Any key gives a placeholder naming where the value would come from. */
class Symbolic extends data.Dictionary {
  constructor(private readonly origin: string) {
    super();
  }
  override get(key: string): Data {
    return new data.StringData(`<${this.origin}.${key}>`);
  }
}

const str = (s: string) => new data.StringData(s);
const dict = (entries: Record<string, Data>) => new data.Dictionary(...Object.entries(entries).map(([key, value]) => ({ key, value })));
const fromJs = (value: unknown): Data => JSON.parse(JSON.stringify(value ?? null), data.reviver) as Data;

function statusFunctions(status: { success: boolean; failure: boolean }): Map<string, FunctionDefinition> {
  const constant = (name: string, value: boolean): [string, FunctionDefinition] => [name, { name, minArgs: 0, maxArgs: 255, call: () => new data.BooleanData(value) }];
  return new Map([constant('success', status.success), constant('failure', status.failure), constant('cancelled', false), constant('always', true)]);
}

/** One expression, evaluated by GitHub's evaluator (it throws on a name it does not know). */
export function evaluate(expression: string, context: Record<string, Data>, functions = statusFunctions({ success: true, failure: false })): Data {
  const tree = new Parser(new Lexer(expression).lex().tokens, CONTEXTS, FUNCTIONS).parse();
  const all = dict(Object.fromEntries(CONTEXTS.map((c) => [c, context[c] ?? dict({})])));
  return new Evaluator(tree, all, functions).evaluate();
}

/** A template value: literal, `${{ }}` (also inside a string, as format()), sequence or mapping. */
function valueOf(token: TemplateToken, run: (expression: string) => Data): Data {
  if (isBasicExpression(token)) return run(token.expression);
  if (isString(token)) return str(token.value);
  if (isNumber(token)) return new data.NumberData(token.value);
  if (isBoolean(token)) return new data.BooleanData(token.value);
  if (isSequence(token)) return new data.Array(...[...token].map((t) => valueOf(t, run)));
  if (isMapping(token)) return new data.Dictionary(...[...token].map((p) => ({ key: valueOf(p.key, run).coerceString(), value: valueOf(p.value, run) })));
  return new data.Null();
}

function stringsOf(token: TemplateToken | undefined, run: (expression: string) => Data): Record<string, string> {
  if (!token) return {};
  const value = valueOf(token, run) as data.Dictionary;
  return Object.fromEntries(value.pairs().map((p) => [p.key, p.value.coerceString()]));
}

export async function loadWorkflow(file: string, text?: string): Promise<Workflow> {
  const content = text ?? (await readFile(join(ROOT, file), 'utf8'));
  const parsed = parseWorkflow({ name: basename(file), content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (errors.length || !parsed.value) throw new Error(`${file} does not parse: ${errors.join('; ')}`);
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  if (template.errors?.length) throw new Error(`${file} does not convert: ${template.errors.map((e) => e.Message).join('; ')}`);
  return { file, template, root: parsed.value as MappingToken };
}

/** The `inputs` context: a dispatch's inputs over the workflow's defaults (typed); empty otherwise. */
function inputsOf(wf: Workflow, trigger: Trigger): Record<string, InputValue> {
  if (trigger.event !== 'workflow_dispatch') return {};
  const declared = wf.template.events.workflow_dispatch?.inputs ?? {};
  for (const name of Object.keys(trigger.inputs ?? {})) if (!(name in declared)) throw new Error(`${wf.file} has no input ${name}`);
  return Object.fromEntries(Object.entries(declared).map(([name, d]) => [name, trigger.inputs?.[name] ?? d.default ?? (d.type === 'boolean' ? false : '')]));
}

function listens(wf: Workflow, trigger: Trigger): boolean {
  const config = wf.template.events[trigger.event] as Record<string, unknown> | undefined;
  if (!config) return false;
  const filters = ['branches', 'branches-ignore', 'tags', 'tags-ignore', 'paths', 'paths-ignore', 'types'].filter((f) => f in config);
  if (filters.length) throw new Error(`${wf.file}: the simulator does not evaluate ${trigger.event} filters (${filters.join(', ')})`);
  return true;
}

/** The jobs a job depends on, directly or not. */
function ancestors(jobs: Map<string, Job>, id: string, seen = new Set<string>()): Set<string> {
  for (const need of jobs.get(id)?.needs ?? []) {
    if (seen.has(need.value)) continue;
    seen.add(need.value);
    ancestors(jobs, need.value, seen);
  }
  return seen;
}

/** Every combination of the matrix, in order, with the strategy context of each. */
function legsOf(job: Job, run: (expression: string) => Data): { matrix: Record<string, Data>; strategy: Record<string, Data> }[] {
  const strategy = job.strategy ? (valueOf(job.strategy, run) as data.Dictionary) : dict({});
  const matrix = strategy.get('matrix') as data.Dictionary | undefined;
  const dims = matrix ? matrix.pairs() : [];
  for (const { key } of dims) if (key === 'include' || key === 'exclude') throw new Error(`job ${job.id.value}: the simulator does not expand matrix ${key}`);
  let combos: Record<string, Data>[] = [{}];
  for (const { key, value } of dims) {
    if (!(value instanceof data.Array)) throw new Error(`job ${job.id.value}: matrix.${key} is not a list`);
    combos = combos.flatMap((c) => value.values().map((v) => ({ ...c, [key]: v })));
  }
  const maxParallel = strategy.get('max-parallel') ?? new data.NumberData(combos.length);
  const failFast = strategy.get('fail-fast') ?? new data.BooleanData(true);
  return combos.map((m, i) => ({
    matrix: m,
    strategy: { 'job-index': new data.NumberData(i), 'job-total': new data.NumberData(combos.length), 'max-parallel': maxParallel, 'fail-fast': failFast },
  }));
}

/** The raw `with:` of each step of a job, in order (the converted template drops it). */
function withTokens(wf: Workflow, jobId: string): (TemplateToken | undefined)[] {
  const jobs = wf.root.find('jobs') as MappingToken;
  const steps = (jobs.find(jobId) as MappingToken).find('steps');
  return steps && isSequence(steps) ? [...steps].map((s) => (s as MappingToken).find('with')) : [];
}

function branchOf(ref: string): string | undefined {
  return /^refs\/heads\/(.+)$/.exec(ref)?.[1];
}

export function simulate(wf: Workflow, trigger: Trigger, options: SimOptions = {}): Run {
  const runResult: Run = { workflow: wf.file, trigger: trigger.label, triggered: listens(wf, trigger), jobs: {} };
  if (!runResult.triggered) return runResult;
  const inputs = inputsOf(wf, trigger);
  const github = { ...trigger.github };
  if (trigger.event === 'workflow_dispatch') github.event = { ...(github.event as object), inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, String(v)])) };
  const base: Record<string, Data> = {
    github: fromJs(github),
    inputs: fromJs(inputs),
    vars: dict(Object.fromEntries((options.vars ?? []).map((v) => [v, str(`<var ${v}>`)]))),
  };
  const repoSecrets = { GITHUB_TOKEN: str('<GITHUB_TOKEN>') };
  const workflowEnv = stringsOf(wf.template.env, (e) => evaluate(e, { ...base, secrets: dict(repoSecrets) }));
  const jobs = new Map(wf.template.jobs.map((j) => [j.id.value, j as Job]));
  const pending = [...jobs.keys()];
  while (pending.length) {
    const index = pending.findIndex((id) => (jobs.get(id)!.needs ?? []).every((n) => n.value in runResult.jobs));
    if (index < 0) throw new Error(`${wf.file}: the jobs' needs form a cycle or name a missing job (${pending.join(', ')})`);
    const [id] = pending.splice(index, 1) as [string];
    runResult.jobs[id] = runJob(wf, jobs, id, { base, repoSecrets, workflowEnv, trigger, options, done: runResult.jobs });
  }
  return runResult;
}

interface JobScope {
  base: Record<string, Data>;
  repoSecrets: Record<string, Data>;
  workflowEnv: Record<string, string>;
  trigger: Trigger;
  options: SimOptions;
  done: Record<string, JobRun>;
}

function runJob(wf: Workflow, jobs: Map<string, Job>, id: string, scope: JobScope): JobRun {
  const job = jobs.get(id)!;
  if (job.type !== 'job') throw new Error(`job ${id}: the simulator does not run reusable workflows`);
  const { base, done, options, trigger } = scope;
  const upstream = [...ancestors(jobs, id)].map((a) => done[a]!.result);
  const needs = dict(Object.fromEntries((job.needs ?? []).map((n) => [n.value, dict({ result: str(done[n.value]!.result), outputs: fromJs(done[n.value]!.outputs) })])));
  const jobContext = { ...base, needs };
  const jobStatus = statusFunctions({ success: upstream.every((r) => r === 'success'), failure: upstream.includes('failure') });
  const result: JobRun = { id, result: 'skipped', legs: [], outputs: {} };
  // Evaluated whether the job runs or not (a group that used matrix would see none here).
  if (job.concurrency) {
    const c = valueOf(job.concurrency, (e) => evaluate(e, jobContext));
    const group = c instanceof data.Dictionary ? (c.get('group')?.coerceString() ?? '') : c.coerceString();
    const cancel = c instanceof data.Dictionary ? !falsy(c.get('cancel-in-progress') ?? new data.BooleanData(false)) : false;
    result.concurrency = { group, cancelInProgress: cancel };
  }
  if (falsy(evaluate(job.if.expression, jobContext, jobStatus))) return result;

  const legs = legsOf(job, (e) => evaluate(e, jobContext));
  const environment = job.environment ? valueOf(job.environment, (e) => evaluate(e, { ...jobContext, ...legContext(legs[0]!) })) : undefined;
  const envName = environment instanceof data.Dictionary ? environment.get('name')?.coerceString() : environment?.coerceString();
  result.environment = envName || undefined;

  const rule = envName ? options.environments?.[envName] : undefined;
  if (rule && !rule.branches.includes(branchOf(String((trigger.github as { ref: string }).ref)) ?? '')) {
    return { ...result, result: 'failure', blocked: `the ${envName} environment's deployment-branch rule refuses ${String((trigger.github as { ref: string }).ref)}` };
  }
  const secrets = dict({ ...scope.repoSecrets, ...(rule && !trigger.forked ? Object.fromEntries(rule.secrets.map((s) => [s, str(`<secret ${s}>`)])) : {}) });
  const withs = withTokens(wf, id);
  for (const [index, leg] of legs.entries()) {
    const context: Record<string, Data> = { ...jobContext, ...legContext(leg), secrets };
    const jobEnv = { ...scope.workflowEnv, ...stringsOf(job.env, (e) => evaluate(e, context)) };
    const steps: Record<string, Data> = {};
    const runs: StepRun[] = [];
    let failed = false;
    for (const [i, step] of job.steps.entries()) {
      const stepContext = { ...context, env: fromJs(jobEnv), steps: dict(steps) };
      const exec = (e: string) => evaluate(e, stepContext);
      const ran = !falsy(evaluate((step as Step & { if: { expression: string } }).if.expression, stepContext, statusFunctions({ success: !failed, failure: failed })));
      const fails = ran && (options.failing ?? []).includes(`${id}.${step.id}`);
      const outcome: Result = !ran ? 'skipped' : fails ? 'failure' : 'success';
      if (fails && !('continue-on-error' in step && step['continue-on-error'] === true)) failed = true;
      steps[step.id] = dict({ outcome: str(outcome), conclusion: str(outcome), outputs: outcome === 'success' ? new Symbolic(`${id}[${index}].${step.id}`) : dict({}) });
      const withValues = ran ? stringsOf(withs[i], exec) : {};
      const uses = 'uses' in step ? step.uses.value : undefined;
      runs.push({
        ...(ran && uses && ATTEST.test(uses) ? { sigstore: sigstoreInstance((trigger.github as { event?: unknown }).event, withValues['private-signing'] === 'true') } : {}),
        id: step.id,
        name: step.name?.toString() ?? ('run' in step ? step.run.toString().split('\n')[0]! : 'uses' in step ? step.uses.value : step.id),
        ran,
        outcome,
        ...('uses' in step ? { uses: step.uses.value } : {}),
        ...('run' in step ? { run: step.run.toString() } : {}),
        env: ran ? { ...jobEnv, ...stringsOf('env' in step ? step.env : undefined, exec) } : {},
        with: withValues,
      });
    }
    const legOutputs = stringsOf(job.outputs, (e) => evaluate(e, { ...context, steps: dict(steps) }));
    for (const [key, value] of Object.entries(legOutputs)) {
      if (!value) continue;
      if (result.outputs[key] && result.outputs[key] !== value) throw new Error(`job ${id}: legs give output ${key} different values; which one a later job sees depends on which leg finished last`);
      result.outputs[key] = value;
    }
    result.legs.push({ index, matrix: Object.fromEntries(Object.entries(leg.matrix).map(([k, v]) => [k, v.coerceString()])), steps: runs, result: failed ? 'failure' : 'success' });
  }
  result.result = result.legs.some((l) => l.result === 'failure') ? 'failure' : 'success';
  return result;
}

function legContext(leg: { matrix: Record<string, Data>; strategy: Record<string, Data> }): Record<string, Data> {
  return { matrix: dict(leg.matrix), strategy: dict(leg.strategy) };
}
