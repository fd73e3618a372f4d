// `vultr-sid-iso publish`: ISO → object storage → Vultr ISO library (create, wait, verify
// sha512) → manifest → prune.
import type { Command } from '@commander-js/extra-typings';
import { secretPartsOf } from '../net/urls.js';
import { runSteps } from '../pipeline/runner.js';
import { findExisting } from '../steps/publish/find-existing.js';
import { checkRoom, makeRoom } from '../steps/publish/library-room.js';
import { loadManifest } from '../steps/publish/load-manifest.js';
import { pruneIsos, recordInManifest } from '../steps/publish/record-and-prune.js';
import { registerIso } from '../steps/publish/register-iso.js';
import type { PublishOptions, PublishState } from '../steps/publish/state.js';
import { uploadIso } from '../steps/publish/upload-iso.js';
import { commonOptions, httpsUrl, openTrace, positiveNumber, runAction, wholeNumber, type Env, type RunContext, type Summary } from './run.js';

export interface PublishResult {
  isoId: string;
  filename: string;
  status: string;
  /** The library held this ISO already: nothing was uploaded. */
  reused: boolean;
  manifest: string;
  pruned: string[];
  keptAttached: string[];
  /** The build's attestation, when --attestation named it. */
  attestation?: string;
}

export async function publish(options: PublishOptions, { reporter, signal, leftovers }: Pick<RunContext, 'reporter' | 'signal' | 'leftovers'>): Promise<PublishResult> {
  const state: PublishState = { options, pruned: [], keptAttached: [] };
  // A presigned --url is masked before anything could print it.
  for (const secret of options.url ? secretPartsOf(options.url) : []) reporter.mask(secret);
  await runSteps([loadManifest, findExisting, checkRoom, uploadIso, makeRoom, registerIso, recordInManifest, pruneIsos], state, { reporter, signal, leftovers });
  const iso = state.iso!;
  return {
    isoId: iso.id,
    filename: iso.filename,
    status: iso.status,
    reused: state.alreadyInLibrary !== undefined,
    manifest: state.manifestPath!,
    pruned: state.pruned,
    keptAttached: state.keptAttached,
    ...(options.attestationUrl ? { attestation: options.attestationUrl } : {}),
  };
}

const summary: Summary<PublishResult> = {
  command: 'publish',
  describe(p) {
    return {
      rows: [
        ['ISO', p.filename],
        ['Vultr ISO id', p.isoId],
        ['Vultr status', `${p.status}${p.reused ? ' (already in the library: nothing uploaded)' : ''}`],
        ['Pruned ISOs', p.pruned.join(', ') || 'none'],
        ...(p.keptAttached.length ? ([['Kept (attached)', p.keptAttached.join(', ')]] as [string, string][]) : []),
        ...(p.attestation ? ([['Attestation', p.attestation]] as [string, string][]) : []),
      ],
      outputs: { 'vultr-iso-id': p.isoId },
    };
  },
};

export function registerPublish(program: Command, env: Env): void {
  commonOptions(program.command('publish'), 'print the result as JSON on stdout (logs stay on stderr)')
    .description("Put the built ISO where Vultr can fetch it, register it in the account's ISO library, check its sha512, record it in the manifest and prune old ones.")
    .option('--manifest <file>', 'manifest of the ISO to publish (default: the newest in --out-dir)')
    .option('--out-dir <dir>', 'where to look for the newest manifest', 'iso/out')
    .option('--url <url>', 'the ISO is already hosted at URL, which ends in its own file name (<name>.iso): skip the upload')
    .option('--allow-unverified', "publish an ISO built from a base image whose origin was not verified (a local file)", false)
    .option('--keep-object', 'keep the uploaded object after Vultr has the ISO', false)
    .option('--keep <n>', 'our ISOs to keep in the library, the new one included, once it is verified (1 to 50; default: publish.keep)', wholeNumber('--keep', 1, 50))
    .option('--poll-interval <seconds>', 'seconds between status checks', positiveNumber('--poll-interval'), 10)
    .option('--timeout <seconds>', 'seconds to wait for Vultr to download the ISO', positiveNumber('--timeout'), 3600)
    .option('--trace <file>', 'write every Vultr API answer seen to FILE as JSON lines (never the key), to send in or replay')
    .option('--attestation <url>', "the URL of the build's attestation of the ISO, recorded in the manifest (the nightly passes it)", httpsUrl('--attestation'))
    .action((opts) =>
      runAction(
        env,
        opts,
        async (run) => {
          const result = await publish(
            {
              configPath: opts.config,
              manifestPath: opts.manifest,
              outDir: opts.outDir,
              url: opts.url,
              allowUnverified: opts.allowUnverified,
              keepObject: opts.keepObject,
              keep: opts.keep,
              pollIntervalMs: opts.pollInterval * 1000,
              timeoutMs: opts.timeout * 1000,
              trace: openTrace(opts.trace, run.reporter),
              attestationUrl: opts.attestation,
              settings: run.settings,
            },
            run,
          );
          run.reporter.info(`${result.reused ? 'already published' : 'published'}: Vultr ISO ${result.isoId} (${result.filename})`);
          return result;
        },
        summary,
      ),
    );
}
