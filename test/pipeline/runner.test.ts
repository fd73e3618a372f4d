import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../src/pipeline/errors.js';
import { SilentReporter } from '../../src/pipeline/reporter.js';
import { runSteps, type Step } from '../../src/pipeline/runner.js';

function recorder(log: string[], name: string, opts: { fail?: boolean; cleanupFails?: boolean; skip?: boolean } = {}): Step<object> {
  return {
    title: name,
    skip: () => (opts.skip ? 'not needed' : undefined),
    async run() {
      log.push(`run ${name}`);
      if (opts.fail) throw new Error(`${name} broke`);
    },
    async cleanup(_s, { failed }) {
      log.push(`cleanup ${name}${failed ? ' (failed)' : ''}`);
      if (opts.cleanupFails) throw new Error(`cleanup ${name} broke`);
    },
  };
}

describe('step runner', () => {
  it('runs in order and cleans up in reverse, on success too; skipped steps are not cleaned up', async () => {
    const log: string[] = [];
    await runSteps([recorder(log, 'a'), recorder(log, 'b', { skip: true }), recorder(log, 'c')], {}, { reporter: new SilentReporter() });
    expect(log).toEqual(['run a', 'run c', 'cleanup c', 'cleanup a']);
  });

  it('cleans up the failed step and those before it, and a cleanup error never hides the first error', async () => {
    const log: string[] = [];
    const reporter = new SilentReporter();
    await expect(
      runSteps([recorder(log, 'a', { cleanupFails: true }), recorder(log, 'b', { fail: true }), recorder(log, 'c')], {}, { reporter }),
    ).rejects.toThrow('b broke');
    expect(log).toEqual(['run a', 'run b', 'cleanup b (failed)', 'cleanup a (failed)']);
    expect(reporter.lines).toContain('warning: cleanup of "a" failed: cleanup a broke');
  });

  it('a cancelled run says whether everything was removed', async () => {
    const controller = new AbortController();
    const log: string[] = [];
    const cancelling: Step<object> = { title: 'x', run: async () => controller.abort('SIGINT') };
    await expect(runSteps([cancelling, recorder(log, 'never')], {}, { reporter: new SilentReporter(), signal: controller.signal })).rejects.toThrow(
      'cancelled by SIGINT; everything this run created was removed',
    );
    const c2 = new AbortController();
    const failing: Step<object> = { title: 'y', run: async () => c2.abort('SIGTERM'), cleanup: async () => { throw new Error('no'); } };
    const err = await runSteps([failing, recorder(log, 'never')], {}, { reporter: new SilentReporter(), signal: c2.signal }).catch((e) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(err.message).toBe('cancelled by SIGTERM; some of what this run created could not be removed (see the warnings above)');
    expect(log).toEqual([]);
  });

  it('a failed or cancelled run ends with what it left, each with how to remove it (the ledger)', async () => {
    const leaving: Step<object> = {
      title: 'make',
      run: async (_s, { leftovers }) => {
        leftovers.set('vm', 'instance 5f0 is unfinished; remove it with: vultr-sid-iso vm delete 5f0');
        leftovers.set('tmp', 'a scratch file');
      },
      cleanup: async (_s, { leftovers }) => leftovers.delete('tmp'),
    };
    const reporter = new SilentReporter();
    await expect(runSteps([leaving, recorder([], 'b', { fail: true })], {}, { reporter })).rejects.toThrow('b broke');
    expect(reporter.lines.at(-1)).toBe('warning: instance 5f0 is unfinished; remove it with: vultr-sid-iso vm delete 5f0');

    const controller = new AbortController();
    const cancelling: Step<object> = { title: 'c', run: async () => controller.abort('SIGINT') };
    await expect(runSteps([leaving, cancelling, recorder([], 'never')], {}, { reporter, signal: controller.signal })).rejects.toThrow(
      'cancelled by SIGINT; instance 5f0 is unfinished; remove it with: vultr-sid-iso vm delete 5f0',
    );
  });
});
