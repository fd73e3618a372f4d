// `vm create`, for one VM or a fleet (--count N). What every VM shares is done once, before
// anything is made: the request checked, how the install will be seen, the ISO picked. Then
// each VM runs its own pipeline (user-data, create, wait, detach, restart) in parallel with
// the others, with its own label (LABEL-1 … LABEL-N), its own lines (prefixed "vm 2/3") and
// its own entries in the run's ledger, so that the fault contract holds per VM: each one a
// failure or Ctrl-C catches is deleted, or named with the command that removes it, and one
// VM's failure never touches another. Vultr's rate limit (about 30 requests/s per address)
// is kept by the one pace all VMs share (vultr-api.ts: 8 requests/s).
import { CancelledError, messageOf, OperationError } from '../../pipeline/errors.js';
import { scopedReporter } from '../../pipeline/reporter.js';
import { runSteps, type StepContext } from '../../pipeline/runner.js';
import { chooseIso, createInstance, numbered, planInstance } from './create-instance.js';
import { checkInstallSignal, prepareUserData } from './install-signal.js';
import { detachIso, waitForInstall, waitForRestart } from './install.js';
import type { VmCreateOptions, VmState } from './state.js';

/** The most VMs one run makes: beyond that, Terraform (docs/terraform.md) is the better tool. */
export const MAX_COUNT = 20;

const SHARED = [planInstance, checkInstallSignal, chooseIso];
const PER_VM = [prepareUserData, createInstance, waitForInstall, detachIso, waitForRestart];

/** One VM of the fleet: the shared state, with its own request and nothing of another's. */
function vmState(shared: VmState, n: number): VmState {
  const request = shared.request!;
  return {
    options: shared.options,
    config: shared.config,
    vultr: shared.vultr,
    iso: shared.iso,
    signal: shared.signal,
    userData: shared.userData,
    request: { ...request, tags: [...request.tags], label: numbered(request.label, n), hostname: numbered(request.hostname, n) },
  };
}

/** Creates one VM (count undefined: the single-VM run, exactly as before) or `count` of them; returns each VM's state. */
export async function createVms(options: VmCreateOptions, count: number | undefined, ctx: StepContext): Promise<VmState[]> {
  const state: VmState = { options };
  if (count === undefined) {
    await runSteps([...SHARED, ...PER_VM], state, ctx);
    return [state];
  }
  await runSteps(SHARED, state, ctx);
  const vms = Array.from({ length: count }, (_, i) => vmState(state, i + 1));
  const outcomes = await Promise.allSettled(
    vms.map((vm, i) => {
      const scope = `vm ${i + 1}/${count}`;
      return runSteps(PER_VM, vm, { reporter: scopedReporter(ctx.reporter, scope), signal: ctx.signal, leftovers: ctx.leftovers.scoped(scope) });
    }),
  );
  const failures = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ n: i + 1, error: o.reason as unknown }] : []));
  if (failures.length === 0) return vms;
  // Every VM's entry: the failed ones' remains and the finished ones, kept (and how to remove them).
  const left = ctx.leftovers.list;
  const cancelled = failures.find((f) => f.error instanceof CancelledError)?.error as CancelledError | undefined;
  if (cancelled) throw new CancelledError(cancelled.signal, left, failures.some((f) => f.error instanceof CancelledError && f.error.cleanupFailed));
  const what = failures.map((f) => `vm ${f.n}: ${messageOf(f.error)}`).join('; ');
  throw new OperationError(`${failures.length} of ${count} VMs failed (${what})${left.length ? `; ${left.join('; ')}` : ''}`);
}
