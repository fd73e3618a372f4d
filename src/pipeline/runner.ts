// A pipeline of named steps, each with run and an optional cleanup (packer's multistep).
// Cleanup runs in reverse order for every step that started, including the one that failed,
// and also on success (steps decide what to keep: scratch always goes, results only on
// failure). Cleanup errors are reported, never allowed to hide the first error.
import { CancelledError, messageOf } from './errors.js';
import { Leftovers } from './leftovers.js';
import type { Reporter } from './reporter.js';

export interface StepContext {
  reporter: Reporter;
  signal: AbortSignal;
  /** What the run made and has not removed yet: kept current by the steps. */
  leftovers: Leftovers;
}

export interface Step<S> {
  title: string;
  /** Returns an optional note shown after the step's duration (e.g. "cached"). */
  run(state: S, ctx: StepContext): Promise<string | void>;
  /** Returns a reason to skip this step (shown instead of running it), or undefined. */
  skip?(state: S): string | undefined;
  /**
   * failed is true when the pipeline did not complete (error or cancellation). What it keeps
   * on purpose after a failure stays in ctx.leftovers, with the command that removes it.
   */
  cleanup?(state: S, ctx: StepContext & { failed: boolean }): Promise<void>;
}

export interface RunOptions {
  reporter: Reporter;
  signal?: AbortSignal;
  leftovers?: Leftovers;
}

export async function runSteps<S>(steps: Step<S>[], state: S, options: RunOptions): Promise<void> {
  const { reporter } = options;
  const signal = options.signal ?? new AbortController().signal;
  const leftovers = options.leftovers ?? new Leftovers();
  const started: Step<S>[] = [];
  let failure: unknown;
  try {
    for (const step of steps) {
      // A skipped step does nothing: a Ctrl-C is taken at the next one that does (after the
      // last one that runs, the result stands).
      const skipped = step.skip?.(state);
      if (skipped) {
        reporter.info(`${step.title}: skipped (${skipped})`);
        continue;
      }
      if (signal.aborted) throw new CancelledError(String(signal.reason ?? 'SIGINT'));
      started.push(step);
      reporter.stepStart(step.title);
      const t0 = Date.now();
      try {
        const note = await step.run(state, { reporter, signal, leftovers });
        reporter.stepEnd(step.title, Date.now() - t0, note || undefined);
      } catch (error) {
        reporter.stepFailed(step.title, Date.now() - t0);
        throw signal.aborted && !(error instanceof CancelledError)
          ? new CancelledError(String(signal.reason ?? 'SIGINT'))
          : error;
      }
    }
  } catch (error) {
    failure = error;
  }
  const failed = failure !== undefined;
  let cleanupFailures = 0;
  for (const step of started.reverse()) {
    if (!step.cleanup) continue;
    try {
      // Cleanup must finish even after Ctrl-C, so it gets a fresh signal.
      await step.cleanup(state, { reporter, signal: new AbortController().signal, leftovers, failed });
    } catch (error) {
      cleanupFailures++;
      reporter.warn(`cleanup of "${step.title}" failed: ${messageOf(error)}`);
    }
  }
  if (failure instanceof CancelledError) throw new CancelledError(failure.signal, leftovers.list, cleanupFailures > 0);
  if (failed) {
    // The last lines before the error: what is left, and how to remove it.
    for (const left of leftovers.list) reporter.warn(left);
    throw failure;
  }
}

/**
 * An AbortSignal that fires on the first SIGINT/SIGTERM; a second one exits at once (so a
 * stuck cleanup can still be interrupted), after `lastWords` has said what is left. The
 * handler stays installed until dispose(): execa's exit hook (signal-exit) re-raises a signal
 * when it is the only listener left.
 */
export function abortOnSignals(lastWords: (signal: NodeJS.Signals) => void = () => undefined): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      lastWords(sig);
      process.exit(130);
    }
    controller.abort(sig);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
