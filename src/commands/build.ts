// `vultr-sid-iso build`: config → templates → base ISO → repacked ISO + manifest.
import type { Reporter } from '../pipeline/reporter.js';
import { runSteps, type Step } from '../pipeline/runner.js';
import type { BuildOptions, BuildState, Manifest } from '../steps/build-state.js';
import { inspectBase } from '../steps/inspect-base.js';
import { patchBootFiles } from '../steps/patch-boot-files.js';
import { renderTemplates, writeRenderOnly } from '../steps/render-templates.js';
import { resolveBase } from '../steps/resolve-base.js';
import { writeIso, writeManifest } from '../steps/write-iso.js';

const unlessUpToDate = (step: Step<BuildState>): Step<BuildState> => ({
  ...step,
  skip: (state) => (state.upToDate ? 'ISO is up to date' : undefined),
});

export type BuildResult = { kind: 'iso'; manifest: Manifest; upToDate: boolean } | { kind: 'render-only'; dir: string; files: string[] };

export async function build(options: BuildOptions, reporter: Reporter, signal: AbortSignal, onStepTimed?: (t: string, ms: number) => void): Promise<BuildResult> {
  const state: BuildState = { options };
  if (options.renderOnly) {
    await runSteps([renderTemplates, writeRenderOnly], state, { reporter, signal, onStepTimed });
    return { kind: 'render-only', dir: options.renderOnly, files: [...state.artifacts!.keys()] };
  }
  const steps: Step<BuildState>[] = [
    renderTemplates,
    resolveBase,
    inspectBase,
    patchBootFiles,
    writeIso,
    unlessUpToDate(writeManifest),
  ];
  await runSteps(steps, state, { reporter, signal, onStepTimed });
  if (state.upToDate) return { kind: 'iso', manifest: state.upToDate, upToDate: true };
  return { kind: 'iso', manifest: state.manifest!, upToDate: false };
}
