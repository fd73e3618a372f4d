// `vultr-sid-iso build`: config → templates → base ISO → repacked ISO + manifest.
import type { Command } from '@commander-js/extra-typings';
import type { Manifest } from '../iso/manifest.js';
import type { RunSummary } from '../pipeline/actions-reporter.js';
import { manifestPathFor } from '../iso/output-name.js';
import { formatBytes } from '../pipeline/reporter.js';
import { runSteps, type Step } from '../pipeline/runner.js';
import { inspectBase } from '../steps/build/inspect-base.js';
import { patchBootFiles } from '../steps/build/patch-boot-files.js';
import { renderTemplates, writeRenderOnly } from '../steps/build/render-templates.js';
import { resolveBase } from '../steps/build/resolve-base.js';
import type { BuildOptions, BuildState } from '../steps/build/state.js';
import { writeIso, writeManifest } from '../steps/build/write-iso.js';
import { commonOptions, runAction, type Env, type RunContext, type Summary } from './run.js';

export type BuildResult = { kind: 'iso'; manifest: Manifest; upToDate: boolean } | { kind: 'render-only'; dir: string; files: string[] };

const unlessUpToDate = (step: Step<BuildState>): Step<BuildState> => ({
  ...step,
  skip: (state) => (state.upToDate ? 'ISO is up to date' : undefined),
});

export async function build(options: BuildOptions, { reporter, signal }: Pick<RunContext, 'reporter' | 'signal'>): Promise<BuildResult> {
  const state: BuildState = { options };
  if (options.renderOnly) {
    await runSteps([renderTemplates, writeRenderOnly], state, { reporter, signal });
    return { kind: 'render-only', dir: options.renderOnly, files: [...state.artifacts!.keys()] };
  }
  await runSteps([renderTemplates, resolveBase, inspectBase, patchBootFiles, writeIso, unlessUpToDate(writeManifest)], state, { reporter, signal });
  if (state.upToDate) return { kind: 'iso', manifest: state.upToDate, upToDate: true };
  return { kind: 'iso', manifest: state.manifest!, upToDate: false };
}

type Printed = Manifest | { kind: 'render-only'; dir: string; files: string[] };

const summary: Summary<Printed> = {
  command: 'build',
  describe(r): Pick<RunSummary, 'rows' | 'outputs'> {
    if ('kind' in r) return { rows: [['Rendered into', r.dir]], outputs: {} };
    return {
      rows: [
        ['ISO', r.name],
        ['Size', formatBytes(r.iso.size)],
        ['sha256', r.iso.sha256],
        ['Base image', r.base.source],
        ['Base verified', r.base.verified ? 'yes (signed checksum)' : 'no (local file)'],
      ],
      outputs: { 'iso-path': r.iso.path, 'iso-sha256': r.iso.sha256, 'manifest-path': manifestPathFor(r.iso.path) },
    };
  },
};

export function registerBuild(program: Command, env: Env): void {
  commonOptions(program.command('build'), 'print the manifest as JSON on stdout (logs stay on stderr)')
    .description('Render the config and repack the base ISO into iso/out/<name>.iso with its manifest <name>.json.')
    .option('--base-iso <path|url>', 'base image (default: base.url from the config)')
    .option('--out-dir <dir>', 'output directory', 'iso/out')
    .option('--cache-dir <dir>', 'download cache', 'iso/cache')
    .option('--render-only <dir>', 'only write the rendered files (preseed.cfg, user-data, meta-data, installer/, rootfs/) into DIR')
    .option('--offline', 'use only the cache; never download', false)
    .option('--require-verified', 'refuse a base image without a verified signature', false)
    .option('--allow-insecure-url', 'accept a plain http:// base image URL (it is still verified by its signature)', false)
    .action((opts) =>
      runAction(
        env,
        opts,
        async (run): Promise<Printed> => {
          const { config, baseIso, outDir, cacheDir, renderOnly, offline, requireVerified, allowInsecureUrl } = opts;
          const result = await build({ configPath: config, baseIso, outDir, cacheDir, renderOnly, offline, requireVerified, allowInsecureUrl, settings: run.settings }, run);
          if (result.kind === 'render-only') {
            run.reporter.info(`wrote ${result.files.length} files into ${result.dir}`);
            return result;
          }
          run.reporter.info(result.upToDate ? `${result.manifest.iso.path} is up to date` : `wrote ${result.manifest.iso.path}`);
          return result.manifest;
        },
        summary,
      ),
    );
}
