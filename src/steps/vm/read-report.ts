// Reads an IPv6-only VM's install report (install-signal.ts) while vm create waits for the
// install: one look at the object per poll. A report that fails its checks is said, deleted
// and not taken (whoever holds the URL could have written it); a storage error is said once
// and looked past, since the next poll may well succeed.
import { parsePrefix } from '../../net/ipv6.js';
import { messageOf } from '../../pipeline/errors.js';
import type { StepContext } from '../../pipeline/runner.js';
import { instanceV6 } from '../../systems/vultr-api.js';
import { checkInstallReport, MAX_REPORT_BYTES } from '../../vm/install-report.js';
import { deleteReport } from './install-signal.js';
import type { VmState } from './state.js';

/** A function that looks once: the report's summary when a good one has come, else undefined. */
export function reportReader(state: VmState, ctx: StepContext): () => Promise<string | undefined> {
  let failing = false;
  return async () => {
    const signal = state.signal;
    if (signal?.kind !== 'report' || !state.reportKey) return undefined;
    const { readSmallObject } = await import('../../systems/object-storage.js');
    let bytes: Buffer | undefined;
    try {
      bytes = await readSmallObject(signal.client, signal.storage.bucket, state.reportKey, MAX_REPORT_BYTES, ctx.signal);
      failing = false;
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      if (!failing) ctx.reporter.warn(`could not look for instance ${state.instanceId}'s install report (${messageOf(error)}); looking again`);
      failing = true;
      return undefined;
    }
    if (!bytes) return undefined;
    const v6 = state.instance ? instanceV6(state.instance) : {};
    const network = v6.network && v6.size ? parsePrefix(`${v6.network}/${v6.size}`) : undefined;
    const check = checkInstallReport(bytes.toString('utf8'), state.instanceId!, network);
    const warn = (error: unknown) => ctx.reporter.warn(messageOf(error));
    if ('problem' in check) {
      ctx.reporter.warn(`ignored an install report for instance ${state.instanceId}: ${check.problem}; waiting for a good one`);
      // Not read again; the VM's own report goes to the same key, so the key is kept.
      const { deleteObject } = await import('../../systems/object-storage.js');
      await deleteObject(signal.client, signal.storage.bucket, state.reportKey, ctx.signal).catch(warn);
      return undefined;
    }
    state.installReport = check.report;
    await deleteReport(state, ctx).catch(warn);
    return 'report';
  };
}
