// `vultr-sid-iso publish`: ISO → object storage → Vultr ISO library (create, wait, verify
// sha512) → manifest → prune.
import type { Reporter } from '../pipeline/reporter.js';
import { runSteps } from '../pipeline/runner.js';
import { findExisting } from '../steps/publish/find-existing.js';
import { loadManifest } from '../steps/publish/load-manifest.js';
import type { PublishOptions, PublishState } from '../steps/publish/publish-state.js';
import { pruneIsos, recordInManifest } from '../steps/publish/record-and-prune.js';
import { registerIso } from '../steps/publish/register-iso.js';
import { uploadIso } from '../steps/publish/upload-iso.js';

export interface PublishResult {
  isoId: string;
  filename: string;
  status: string;
  reused: boolean;
  manifest: string;
  pruned: string[];
  keptAttached: string[];
}

export async function publish(options: PublishOptions, reporter: Reporter, signal: AbortSignal, onStepTimed?: (t: string, ms: number) => void): Promise<PublishResult> {
  const state: PublishState = { options, pruned: [], skipped: [] };
  await runSteps([loadManifest, findExisting, uploadIso, registerIso, recordInManifest, pruneIsos], state, { reporter, signal, onStepTimed });
  const iso = state.iso!;
  return { isoId: iso.id, filename: iso.filename, status: iso.status, reused: Boolean(state.reused), manifest: state.manifestPath!, pruned: state.pruned, keptAttached: state.skipped };
}
