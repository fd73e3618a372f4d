// The install is finished when the installed system answers (its SSH banner on the VM's main
// IPv4 or IPv6 address), or, for an IPv6-only VM this machine cannot reach, when it reports
// itself (install-signal.ts, read-report.ts); never when an API field says so: Vultr may not
// register a guest power-off at all (docs/publishing.md, "How Vultr really behaves"). Then the
// ISO is detached; Vultr restarts the VM itself on a detach, so nothing here calls start, and
// the run waits for the installed system to answer again (where it can see it).
// power_status is only extra information.
import { setTimeout as delay } from 'node:timers/promises';
import { OperationError } from '../../pipeline/errors.js';
import type { Reporter } from '../../pipeline/reporter.js';
import type { Step, StepContext } from '../../pipeline/runner.js';
import { BannerWatch, dialable } from '../../systems/ssh-banner.js';
import { settleWindow, type VultrInstance } from '../../systems/vultr-api.js';
import { waitFor } from '../../systems/wait-for.js';
import { noteInstance } from './create-instance.js';
import { reportReader } from './read-report.js';
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

/**
 * The addresses whose SSH banner counts, by the run's signal: both of a dual-stack VM's, only
 * the IPv6 one of an IPv6-only VM (its main_ip is a private lease nobody outside can reach).
 * While a report is awaited, none (`forRestart`: the IPv6 one if this machine reaches it).
 */
function bannerAddresses(state: VmState, instance: VultrInstance, forRestart = false): (string | undefined)[] {
  const signal = state.signal ?? { kind: 'ssh', ipv4: true, ipv6: true };
  if (signal.kind === 'report') return forRestart && signal.ipv6Banner ? [instance.v6_main_ip] : [];
  return [signal.ipv4 ? instance.main_ip : undefined, signal.ipv6 ? instance.v6_main_ip : undefined];
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
async function untilInstalled(state: VmState, watch: BannerWatch, ctx: StepContext): Promise<string> {
  const { reporter, signal } = ctx;
  const vultr = state.vultr!;
  const id = state.instanceId!;
  const log = stateLogger(id, reporter);
  const deadline = Date.now() + state.options.timeoutMs;
  let instance = state.instance!;
  let polledAt = 0;
  let sawRunning = false;
  let starts = 0;
  const report = state.signal?.kind === 'report' ? reportReader(state, ctx) : undefined;
  for (;;) {
    signal.throwIfAborted();
    if (Date.now() - polledAt >= state.options.pollIntervalMs) {
      instance = await vultr.getInstance(id);
      polledAt = Date.now();
      log(instance);
      if (instance.status === 'active') watch.watch(bannerAddresses(state, instance));
      state.instance = instance;
      const sent = await report?.();
      if (sent) return sent;
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
      if (report) {
        throw new OperationError(
          `instance ${id} sent no install report within ${Math.round(state.options.timeoutMs / 1000)} s (Vultr says ${instance.status}/${instance.power_status}); raise --timeout, or watch the install on the VM's console in the Vultr portal`,
        );
      }
      const where = bannerAddresses(state, instance).filter(dialable).join(' or ') || 'its addresses';
      throw new OperationError(
        `the installed system on instance ${id} did not answer on SSH (port ${state.options.settings.ssh.port} of ${where}) within ${Math.round(state.options.timeoutMs / 1000)} s (Vultr says ${instance.status}/${instance.power_status}); raise --timeout, or watch the install on the VM's console in the Vultr portal`,
      );
    }
    await delay(bannerEveryMs(state), undefined, { signal });
  }
}

export const waitForInstall: Step<VmState> = {
  title: 'Wait for the unattended install (until the VM answers on SSH or reports)',
  skip: noWait,
  async run(state, ctx) {
    const watch = watchBanner(state);
    try {
      const seen = await untilInstalled(state, watch, ctx);
      state.installMs = Date.now() - state.createdAt!;
      noteInstance(ctx.leftovers, state);
      const report = state.installReport;
      if (report) {
        for (const error of report.cloudInitErrors) ctx.reporter.warn(`instance ${state.instanceId}: cloud-init reported: ${error}`);
        if (report.missing.length) ctx.reporter.warn(`instance ${state.instanceId} is installed but lacks: ${report.missing.join(', ')}; log in and look at its console or login message for how to complete it`);
        if (!report.sshd) {
          throw new OperationError(`instance ${state.instanceId} finished its install but reports that its SSH server does not answer, so nobody could log in; look at its console in the Vultr portal`);
        }
        return `installed: the VM reported after ${minutes(state.installMs)}`;
      }
      return `installed: the system answers (${seen}) after ${minutes(state.installMs)}`;
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
  skip: (state) => {
    if (state.options.noWait) return '--no-wait';
    const signal = state.signal;
    // Its first boot has reported; nothing here can see the VM once more.
    if (signal?.kind === 'report' && !signal.ipv6Banner) return 'the VM cannot be reached from here; it reported its installed system before the detach';
    return undefined;
  },
  async run(state, { reporter, signal }) {
    const id = state.instanceId!;
    const instance = await state.vultr!.getInstance(id);
    const watch = watchBanner(state);
    watch.watch(bannerAddresses(state, instance, true));
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
