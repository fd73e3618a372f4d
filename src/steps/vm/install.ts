// The install is finished when the installed system answers (its SSH banner on the VM's main
// IPv4 or IPv6 address), never when an API field says so: Vultr may not register a guest
// power-off at all (docs/publishing.md, "How Vultr really behaves"). Then the ISO is
// detached; Vultr restarts the VM itself on a detach, so nothing here calls start, and the
// run waits for the installed system to answer again. power_status is only extra information.
import { setTimeout as delay } from 'node:timers/promises';
import { OperationError } from '../../pipeline/errors.js';
import type { Reporter } from '../../pipeline/reporter.js';
import type { Step, StepContext } from '../../pipeline/runner.js';
import { BannerWatch, dialable } from '../../systems/ssh-banner.js';
import { settleWindow, type VultrInstance } from '../../systems/vultr-api.js';
import { waitFor } from '../../systems/wait-for.js';
import { noteInstance } from './create-instance.js';
import type { VmState } from './state.js';

const noWait = (state: VmState) => (state.options.noWait ? '--no-wait' : undefined);

/** Banner probes are cheap (a TCP connect to the VM, not an API call): one a second at most. */
const bannerEveryMs = (state: VmState) => Math.min(state.options.pollIntervalMs, 1000);

/** How long a detach may take to restart the VM before the run assumes it did not. */
const restartGraceMs = (state: VmState) => 12 * state.options.pollIntervalMs;

const minutes = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;

/** A BannerWatch on the instance's SSH port, traced. */
function watchBanner(state: VmState): BannerWatch {
  const port = state.options.settings.ssh.port;
  return new BannerWatch(port, bannerEveryMs(state), (host, r) =>
    state.options.trace?.record({ kind: 'ssh', host, port, ...(r.banner ? { banner: r.banner } : { error: r.error }) }),
  );
}

/** Logs instance states as they change. */
function stateLogger(id: string, reporter: Reporter) {
  let last = '';
  return (i: VultrInstance) => {
    const now = [i.status, i.power_status, i.server_status].filter(Boolean).join('/');
    if (now !== last) reporter.info(`instance ${id}: ${now}`);
    last = now;
  };
}

/** Polls the instance until its installed system answers; starts it once if Vultr shows it powered off. */
async function untilInstalled(state: VmState, watch: BannerWatch, { reporter, signal }: StepContext): Promise<string> {
  const vultr = state.vultr!;
  const id = state.instanceId!;
  const log = stateLogger(id, reporter);
  const deadline = Date.now() + state.options.timeoutMs;
  let instance = state.instance!;
  let polledAt = 0;
  let sawRunning = false;
  let starts = 0;
  for (;;) {
    signal.throwIfAborted();
    if (Date.now() - polledAt >= state.options.pollIntervalMs) {
      instance = await vultr.getInstance(id);
      polledAt = Date.now();
      log(instance);
      if (instance.status === 'active') watch.watch([instance.main_ip, instance.v6_main_ip]);
      sawRunning ||= instance.power_status === 'running';
      if (sawRunning && instance.status === 'active' && instance.power_status === 'stopped') {
        // Only if Vultr registers it: an ISO that ends its install with a power-off. With the
        // ISO attached, starting it boots the installed system (or the installer again).
        if (starts > 0) throw new OperationError(`instance ${id} powered itself off again after it was started; look at its console in the Vultr portal`);
        reporter.warn(`instance ${id} powered itself off; starting it (the attached ISO boots an installed system)`);
        await vultr.whenUnlocked(id, 'start it', () => vultr.startInstance(id, settleWindow(state.options.pollIntervalMs)), {
          intervalMs: state.options.pollIntervalMs,
          info: (m) => reporter.info(m),
        });
        starts++;
        sawRunning = false;
      }
    }
    if (watch.banner) {
      state.instance = instance;
      return watch.banner;
    }
    if (Date.now() >= deadline) {
      const where = [instance.main_ip, instance.v6_main_ip].filter(dialable).join(' or ') || 'its addresses';
      throw new OperationError(
        `the installed system on instance ${id} did not answer on SSH (port ${state.options.settings.ssh.port} of ${where}) within ${Math.round(state.options.timeoutMs / 1000)} s (Vultr says ${instance.status}/${instance.power_status}); raise --timeout, or watch the install on the VM's console in the Vultr portal`,
      );
    }
    await delay(bannerEveryMs(state), undefined, { signal });
  }
}

export const waitForInstall: Step<VmState> = {
  title: 'Wait for the unattended install (until the VM answers on SSH)',
  skip: noWait,
  async run(state, ctx) {
    const watch = watchBanner(state);
    try {
      const banner = await untilInstalled(state, watch, ctx);
      state.installMs = Date.now() - state.createdAt!;
      noteInstance(ctx.leftovers, state);
      return `installed: the system answers (${banner}) after ${minutes(state.installMs)}`;
    } finally {
      watch.stop();
    }
  },
};

/** POST …/iso/detach once Vultr lets it, then wait until the instance reports no ISO mounted. */
export async function detachAndConfirm(state: VmState, { reporter, signal }: StepContext): Promise<void> {
  const vultr = state.vultr!;
  const id = state.instanceId!;
  const intervalMs = state.options.pollIntervalMs;
  await vultr.whenUnlocked(id, 'detach the ISO', () => vultr.detachIso(id, settleWindow(intervalMs)), { intervalMs, info: (m) => reporter.info(m) });
  await waitFor<true>(
    `the ISO to detach from instance ${id}`,
    async () => {
      const s = await vultr.instanceIsoStatus(id);
      return s.state === 'ready' ? { done: true } : { state: s.state };
    },
    { intervalMs, timeoutMs: state.options.timeoutMs, signal, reporter },
  );
  state.detached = true;
}

export const detachIso: Step<VmState> = {
  title: 'Detach the ISO (Vultr restarts the VM)',
  skip: noWait,
  async run(state, ctx) {
    await detachAndConfirm(state, ctx);
    noteInstance(ctx.leftovers, state);
    return 'detached';
  },
};

export const waitForRestart: Step<VmState> = {
  title: 'Wait for the installed system after the restart',
  skip: noWait,
  async run(state, { reporter, signal }) {
    const id = state.instanceId!;
    const instance = await state.vultr!.getInstance(id);
    const watch = watchBanner(state);
    watch.watch([instance.main_ip, instance.v6_main_ip]);
    try {
      // First the restart: the banner goes away (unless it is over between two probes, or
      // this account's detach does not restart the VM: then the grace period ends the wait).
      const graceEnds = Date.now() + restartGraceMs(state);
      let wentDown = false;
      while (!wentDown && Date.now() < graceEnds) {
        await delay(bannerEveryMs(state), undefined, { signal });
        wentDown = watch.down;
      }
      if (!wentDown) reporter.info(`instance ${id} kept answering for ${Math.round(restartGraceMs(state) / 1000)} s after the detach (no restart seen)`);
      const deadline = Date.now() + state.options.timeoutMs;
      while (!watch.banner) {
        if (Date.now() >= deadline) {
          throw new OperationError(`instance ${id} did not answer on SSH within ${Math.round(state.options.timeoutMs / 1000)} s of the restart; raise --timeout, or look at its console in the Vultr portal`);
        }
        await delay(bannerEveryMs(state), undefined, { signal });
      }
      state.instance = await state.vultr!.getInstance(id);
      return wentDown ? 'restarted and answering' : 'answering';
    } finally {
      watch.stop();
    }
  },
};
