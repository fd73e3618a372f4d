// The context each trigger really gives a workflow run, for the workflow simulator
// (test/helpers/workflow-sim.ts). Sources, also cited in docs/ci.md:
//   - schedule: the run is on the latest commit of the default branch (github.ref is it), and
//     `github.event` is only { schedule: <cron> }: no `repository` (letsencrypt/boulder#6209,
//     github/codeql-action#1211, docker/metadata-action#184, ossf/scorecard-action#73);
//     `inputs` is empty.
//   - workflow_dispatch: github.ref is the branch the run was started on; the payload carries
//     inputs (as strings), ref, repository (with default_branch), sender and workflow (all
//     required in webhook-workflow-dispatch of GitHub's OpenAPI description,
//     github/rest-api-description; the repository with its `visibility`, octokit/webhooks
//     common/repository.schema.json); the `inputs` context keeps booleans as booleans, with the
//     workflow's defaults filled in. A dispatch the schedule makes with the run's token is the
//     same event, sent by github-actions[bot].
//   - push: github.ref is the pushed branch; the payload carries repository.
//   - pull_request: github.ref is refs/pull/<n>/merge; from a fork, head.repo.fork is true and
//     no secret but a read-only GITHUB_TOKEN reaches the run.
// Secrets live in the environment that holds them (docs/ci.md, Set-up): a job gets them only
// if it names that environment and the environment admits the run's branch.

export const REPO = 'example/vultr-sid-iso';
export const DEFAULT_BRANCH = 'main';

export type EventName = 'schedule' | 'workflow_dispatch' | 'push' | 'pull_request';
export type InputValue = string | boolean | number;

export interface Trigger {
  /** The row's name in the table. */
  label: string;
  event: EventName;
  /** The `github` context, `event` (the payload) included. */
  github: Record<string, unknown>;
  /** Inputs given to a dispatch (the rest take the workflow's defaults). */
  inputs?: Record<string, InputValue>;
  /** No secret but a read-only GITHUB_TOKEN reaches the run (a pull request from a fork). */
  forked?: boolean;
}

/**
 * The `repository` of an event payload: a public repository (artifact attestations need one,
 * or GitHub Enterprise Cloud), with `visibility` as webhook payloads carry it
 * (octokit/webhooks payload-schemas common/repository.schema.json: "public" or "private").
 */
const repository = (fork = false, visibility: 'public' | 'private' = 'public') => ({
  full_name: REPO,
  name: REPO.split('/')[1],
  owner: { login: REPO.split('/')[0] },
  default_branch: DEFAULT_BRANCH,
  private: visibility === 'private',
  visibility,
  fork,
});

function githubContext(event: EventName, ref: string, payload: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_name: event,
    event: payload,
    ref,
    ref_name: ref.replace(/^refs\/(heads|tags)\//, '').replace(/^refs\/pull\/(\d+)\/merge$/, '$1/merge'),
    ref_type: 'branch',
    repository: REPO,
    repository_owner: REPO.split('/')[0],
    run_id: '9876543210',
    run_attempt: '1',
    sha: 'c0ffee'.padEnd(40, '0'),
    workflow_ref: `${REPO}/.github/workflows/nightly.yml@${ref}`,
    server_url: 'https://github.com',
    api_url: 'https://api.github.com',
    actor: 'maintainer',
    token: '<GITHUB_TOKEN>',
    head_ref: '',
    base_ref: '',
    ...extra,
  };
}

export function schedule(cron: string): Trigger {
  return { label: 'schedule', event: 'schedule', github: githubContext('schedule', `refs/heads/${DEFAULT_BRANCH}`, { schedule: cron }) };
}

export function dispatch(branch: string, inputs: Record<string, InputValue> = {}, label = `dispatch on ${branch}`, options: { sender?: string; visibility?: 'public' | 'private' } = {}): Trigger {
  const ref = `refs/heads/${branch}`;
  const sender = options.sender ?? 'maintainer';
  const payload = {
    inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, String(v)])),
    ref,
    repository: repository(false, options.visibility),
    sender: { login: sender },
    workflow: '.github/workflows/nightly.yml',
  };
  return { label, event: 'workflow_dispatch', github: githubContext('workflow_dispatch', ref, payload, { actor: sender }), inputs };
}

export function push(branch: string): Trigger {
  const ref = `refs/heads/${branch}`;
  return { label: `push to ${branch}`, event: 'push', github: githubContext('push', ref, { ref, repository: repository(), pusher: { name: 'maintainer' } }) };
}

export function pullRequest(options: { fork: boolean }): Trigger {
  const number = 7;
  const ref = `refs/pull/${number}/merge`;
  const headRepo = options.fork ? { full_name: 'someone/vultr-sid-iso', fork: true } : { full_name: REPO, fork: false };
  const payload = {
    action: 'opened',
    number,
    pull_request: { number, head: { ref: 'feature', repo: headRepo }, base: { ref: DEFAULT_BRANCH, repo: repository() } },
    repository: repository(),
  };
  return {
    label: options.fork ? 'pull request from a fork' : 'pull request from a branch',
    event: 'pull_request',
    github: githubContext('pull_request', ref, payload, { head_ref: 'feature', base_ref: DEFAULT_BRANCH }),
    forked: options.fork,
  };
}
