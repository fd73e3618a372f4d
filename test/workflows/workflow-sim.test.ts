// The simulator itself (test/helpers/workflow-sim.ts), on small workflows whose outcome GitHub
// documents or its users reported: if it got these wrong, the table in docs/ci.md could not be
// trusted.
import { describe, expect, it } from 'vitest';
import { loadWorkflow, simulate } from '../helpers/workflow-sim.js';
import { dispatch, push, schedule } from '../helpers/workflow-triggers.js';

const wf = (jobs: string, on = 'workflow_dispatch') => loadWorkflow('test.yml', `on: ${on}\njobs:\n${jobs}`);
const results = (run: ReturnType<typeof simulate>) => Object.fromEntries(Object.values(run.jobs).map((j) => [j.id, j.result]));

describe('the workflow simulator', () => {
  it("a job's default success() looks at every job upstream, not only its needs (actions/runner#2205)", async () => {
    const w = await wf(`  skipped:
    if: 1 != 1
    runs-on: x
    steps: [{ run: 'true' }]
  needs-job:
    needs: skipped
    if: always() && needs.skipped.result != 'failure'
    runs-on: x
    steps: [{ run: 'true' }]
  next:
    needs: needs-job
    runs-on: x
    steps: [{ run: 'true' }]
`);
    expect(results(simulate(w, dispatch('main')))).toEqual({ skipped: 'skipped', 'needs-job': 'success', next: 'skipped' });
  });

  it('an if: without a status function only runs after success (the implicit success() &&)', async () => {
    const w = await wf(`  a:
    runs-on: x
    steps: [{ id: s, run: 'false' }]
  on-failure-wrong:
    needs: a
    if: needs.a.result == 'failure'
    runs-on: x
    steps: [{ run: 'true' }]
  on-failure-right:
    needs: a
    if: failure() && needs.a.result == 'failure'
    runs-on: x
    steps: [{ run: 'true' }]
`);
    expect(results(simulate(w, dispatch('main'), { failing: ['a.s'] }))).toEqual({ a: 'failure', 'on-failure-wrong': 'skipped', 'on-failure-right': 'success' });
  });

  it("merges a matrix job's outputs from its legs, and refuses keys two legs set differently", async () => {
    const keyed = await wf(`  m:
    strategy: { matrix: { n: [0, 1] } }
    outputs:
      out-0: \${{ matrix.n == 0 && steps.s.outputs.v || '' }}
      out-1: \${{ matrix.n == 1 && steps.s.outputs.v || '' }}
    runs-on: x
    steps: [{ id: s, run: 'true' }]
`);
    expect(simulate(keyed, dispatch('main')).jobs.m!.outputs).toEqual({ 'out-0': '<m[0].s.v>', 'out-1': '<m[1].s.v>' });
    const shared = await wf(`  m:
    strategy: { matrix: { n: [0, 1] } }
    outputs: { out: '\${{ steps.s.outputs.v }}' }
    runs-on: x
    steps: [{ id: s, run: 'true' }]
`);
    expect(() => simulate(shared, dispatch('main'))).toThrow(/legs give output out different values/);
  });

  it('a schedule has no repository in its event and no inputs; a dispatch has both', async () => {
    const w = await wf(
      `  j:
    runs-on: x
    steps:
      - id: s
        env:
          BRANCH: \${{ github.event.repository.default_branch }}
          FLAG: \${{ inputs.flag }}
        run: 'true'
`,
      `{ schedule: [{ cron: '0 1 * * *' }], workflow_dispatch: { inputs: { flag: { type: boolean, default: true } } } }`,
    );
    const env = (run: ReturnType<typeof simulate>) => run.jobs.j!.legs[0]!.steps[0]!.env;
    expect(env(simulate(w, schedule('0 1 * * *')))).toEqual({ BRANCH: '', FLAG: '' });
    expect(env(simulate(w, dispatch('main')))).toEqual({ BRANCH: 'main', FLAG: 'true' });
    expect(simulate(w, push('main')).triggered).toBe(false);
  });

  it('refuses what it does not model rather than guess: event filters, unknown names', async () => {
    const filtered = await wf(`  j:\n    runs-on: x\n    steps: [{ run: 'true' }]\n`, '{ push: { branches: [main] } }');
    expect(() => simulate(filtered, push('main'))).toThrow(/does not evaluate push filters \(branches\)/);
    await expect(wf(`  j:\n    if: nosuch.thing\n    runs-on: x\n    steps: [{ run: 'true' }]\n`)).rejects.toThrow(/Unrecognized named-value: 'nosuch'/);
  });
});
