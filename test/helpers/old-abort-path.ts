// The fault matrix's control (fault-matrix.slow.test.ts): vm create's create step as it was
// before issue 21, run as a program against the fake with today's runner and client. A Ctrl-C
// during its POST /instances rethrew the abort: nothing looked for the instance Vultr had
// made, and the run said everything was removed. The matrix's invariants must catch that.
//   VULTR_API_KEY=… VULTR_API_URL=… node dist/test/helpers/old-abort-path.js
import { runAction } from '../../src/commands/run.js';
import { exitCodeOf, messageOf } from '../../src/pipeline/errors.js';
import { runSteps, type Step } from '../../src/pipeline/runner.js';
import { vultrClient, type VultrClient, type VultrInstance } from '../../src/systems/vultr-api.js';

interface State {
  vultr: VultrClient;
  instanceId?: string;
}

const createTheOldWay: Step<State> = {
  title: 'Create the instance',
  async run(state) {
    const [iso] = await state.vultr.listIsos();
    const body = { region: 'ewr', plan: 'vc2-1c-2gb', iso_id: iso!.id, enable_ipv6: true, label: 'web', hostname: 'debian', tags: ['vultr-sid-iso'] };
    // The old path: the id is known only from the answer; an abort mid-call is rethrown as is.
    const { instance } = await state.vultr.request<{ instance: VultrInstance }>('POST', '/instances', body);
    state.instanceId = instance.id;
  },
  async cleanup(state, { failed, signal }) {
    if (failed && state.instanceId) await state.vultr.withSignal(signal).deleteInstance(state.instanceId);
  },
};

try {
  await runAction(process.env, {}, (run) => runSteps([createTheOldWay], { vultr: vultrClient(run.settings, run.signal) }, run));
} catch (error) {
  process.stderr.write(`vultr-sid-iso: ${messageOf(error)}\n`);
  process.exitCode = exitCodeOf(error);
}
