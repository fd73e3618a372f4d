// If the library already holds a complete ISO with our sha512, publishing is done already.
import type { Step } from '../../pipeline/runner.js';
import { VultrClient } from '../../systems/vultr-api.js';
import type { PublishState } from './publish-state.js';

export function vultrClientFor(env: NodeJS.ProcessEnv, signal: AbortSignal): VultrClient {
  const backoff = Number(env.VULTR_SID_ISO_HTTP_BACKOFF);
  const timeout = Number(env.VULTR_SID_ISO_HTTP_TIMEOUT);
  return new VultrClient({
    apiKey: env.VULTR_API_KEY ?? '',
    baseUrl: env.VULTR_API_URL || undefined,
    signal,
    ...(backoff > 0 ? { backoffMs: backoff * 1000 } : {}),
    ...(timeout > 0 ? { timeoutMs: timeout * 1000 } : {}),
  });
}

export const findExisting: Step<PublishState> = {
  title: 'Look for the ISO in the Vultr library',
  async run(state, { reporter, signal }) {
    reporter.mask(state.options.env.VULTR_API_KEY ?? '');
    state.vultr = vultrClientFor(state.options.env, signal);
    const sha512 = state.manifest!.iso.sha512;
    const match = (await state.vultr.listIsos()).find((i) => i.status === 'complete' && i.sha512sum?.toLowerCase() === sha512);
    if (!match) return 'not there yet';
    state.reused = match;
    state.iso = match;
    return `already there as ${match.id} (${match.filename}): reusing it, nothing to upload`;
  },
};
