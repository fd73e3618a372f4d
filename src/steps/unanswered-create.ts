// After a failed or cancelled run, what a create whose answer never came (a Ctrl-C mid-POST,
// or no attempt that answered clearly) made: looked for among what is new, for as long as a
// lagging list may hide it. Shared by the ISO's and the instance's cleanup.
import { messageOf } from '../pipeline/errors.js';
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

/**
 * After a create that went unanswered once: anything else new that matches was made by this
 * run too (a list that lagged past the settle window let a second POST through). Each is
 * removed, or named with the command that removes it. Run late (in cleanup), when lists have
 * long caught up. `kept` is the one the run keeps or has already dealt with.
 */
export async function removeDuplicates<T extends { id: string }>(
  pending: PendingCreate<T> | undefined,
  kept: string | undefined,
  { vultr, describe, remove, command }: { vultr: VultrClient; describe: (item: T) => string; remove: (item: T) => Promise<void>; command: (id: string) => string },
  { reporter, leftovers }: StepContext,
): Promise<void> {
  if (!pending?.uncertain) return;
  for (const duplicate of await pending.findAll(vultr)) {
    if (duplicate.id === kept) continue;
    try {
      await remove(duplicate);
      reporter.warn(`deleted ${describe(duplicate)}: a second one this run made when an answer was lost`);
    } catch (error) {
      const text = `${describe(duplicate)} is a second one this run made when an answer was lost, and could not be deleted (${messageOf(error)}); remove it with: ${command(duplicate.id)}`;
      leftovers.set(`duplicate ${duplicate.id}`, text);
      reporter.warn(text);
    }
  }
}
