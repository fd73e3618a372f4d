// After a failed or cancelled run, what a create whose answer never came (a Ctrl-C mid-POST,
// or no attempt that answered clearly) made: looked for among what is new, for as long as a
// lagging list may hide it. Shared by the ISO's and the instance's cleanup.
import type { StepContext } from '../pipeline/runner.js';
import { settleWindow, type PendingCreate, type VultrClient } from '../systems/vultr-api.js';

/**
 * `made` is told what the create made, to record it; when Vultr shows nothing, the ledger
 * forgets `key`. Nothing happens when no create is pending.
 */
export async function findUnanswered<T extends { id: string }>(
  pending: PendingCreate<T> | undefined,
  { vultr, key, pollIntervalMs }: { vultr: VultrClient; key: string; pollIntervalMs: number },
  { reporter, signal, leftovers }: StepContext,
  made: (found: T) => void,
): Promise<void> {
  if (!pending) return;
  const found = await pending.settle(vultr, { ...settleWindow(pollIntervalMs), signal });
  if (found) return made(found);
  leftovers.delete(key);
  reporter.info(`Vultr shows nothing this run made (looked for ${pending.what})`);
}
