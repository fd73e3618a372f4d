// After a failed or cancelled run, what a create whose answer never came (a Ctrl-C mid-POST,
// or no attempt that answered clearly) made: looked for among what is new, for as long as a
// lagging list may hide it. Shared by the ISO's and the instance's cleanup.
import type { StepContext } from '../pipeline/runner.js';
import { settleWindow, type PendingCreate, type VultrClient } from '../systems/vultr-api.js';

/** What it made, or undefined when Vultr shows nothing (the ledger then forgets `key`). */
export async function madeByUnanswered<T extends { id: string }>(
  pending: PendingCreate<T>,
  vultr: VultrClient,
  key: string,
  pollIntervalMs: number,
  { reporter, signal, leftovers }: StepContext,
): Promise<T | undefined> {
  const found = await pending.settle(vultr, { ...settleWindow(pollIntervalMs), signal });
  if (!found) {
    leftovers.delete(key);
    reporter.info(`Vultr shows nothing this run made (looked for ${pending.what})`);
  }
  return found;
}
