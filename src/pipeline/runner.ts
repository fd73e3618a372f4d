// A pipeline of named steps, each with run and an optional cleanup (packer's multistep).
// Cleanup runs in reverse order for every step that started, including the one that failed,
// and also on success (steps decide what to keep: scratch always goes, results only on
// failure). Cleanup errors are reported, never allowed to hide the first error.
import { CancelledError, messageOf } from './errors.js';
import type { Reporter } from './reporter.js';

export interface StepContext {
  reporter: Reporter;
  signal: AbortSignal;
}

export interface Step<S> {
  title: string;
  /** Returns an optional note shown after the step's duration (e.g. "cached"). */
  run(state: S, ctx: StepContext): Promise<string | void>;
  /** Returns a reason to skip this step (shown instead of running it), or undefined. */
  skip?(state: S): string | undefined;
  /**
   * failed is true when the pipeline did not complete (error or cancellation). Returns a note
   * when it keeps something on purpose after a failure (e.g. "instance X, installed: carry on
   * with …"), which a cancellation's message then carries.
   */
  cleanup?(state: S, ctx: StepContext & { failed: boolean }): Promise<string | void>;
}

export interface RunOptions {
  reporter: Reporter;
  signal?: AbortSignal;
}

export async function runSteps<S>(steps: Step<S>[], state: S, options: RunOptions): Promise<void> {
  const { reporter } = options;
  const signal = options.signal ?? new AbortController().signal;
  const started: Step<S>[] = [];
  let failure: unknown;
  try {
    for (const step of steps) {
      if (signal.aborted) throw new CancelledError(String(signal.reason ?? 'SIGINT'));
      const skipped = step.skip?.(state);
      if (skipped) {
        reporter.info(`${step.title}: skipped (${skipped})`);
        continue;
      }
      started.push(step);
      reporter.stepStart(step.title);
      const t0 = Date.now();
      try {
        const note = await step.run(state, { reporter, signal });
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
  const kept: string[] = [];
  for (const step of started.reverse()) {
    if (!step.cleanup) continue;
    try {
      // Cleanup must finish even after Ctrl-C, so it gets a fresh signal.
      const note = await step.cleanup(state, { reporter, signal: new AbortController().signal, failed });
      if (note) kept.push(note);
    } catch (error) {
      cleanupFailures++;
      reporter.warn(`cleanup of "${step.title}" failed: ${messageOf(error)}`);
    }
  }
  if (failure instanceof CancelledError && (cleanupFailures > 0 || kept.length > 0)) throw new CancelledError(failure.signal, cleanupFailures === 0, kept);
  if (failed) throw failure;
}

/**
 * An AbortSignal that fires on the first SIGINT/SIGTERM; a second one exits at once so a
 * stuck cleanup can still be interrupted. The handler stays installed until dispose():
 * execa's exit hook (signal-exit) re-raises a signal when it is the only listener left.
 */
export function abortOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
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
