// The typed state shared by the publish steps.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../../config/schema.js';
import type { Settings } from '../../config/settings.js';
import type { Manifest } from '../../iso/manifest.js';
import type { StorageSettings } from '../../systems/object-storage.js';
import type { PendingCreate, VultrClient, VultrIso } from '../../systems/vultr-api.js';
import type { Trace } from '../../systems/vultr-trace.js';

export interface PublishOptions {
  configPath: string;
  manifestPath?: string;
  outDir: string;
  url?: string;
  /** --allow-unverified: publish an ISO built from a base image whose origin was not verified. */
  allowUnverified: boolean;
  keepObject: boolean;
  keep?: number;
  pollIntervalMs: number;
  timeoutMs: number;
  trace?: Trace;
  /** --attestation: the URL of the build's attestation, recorded in the manifest with the ISO. */
  attestationUrl?: string;
  settings: Pick<Settings, 'vultr' | 's3' | 'http' | 'secrets'>;
}

export interface PublishState {
  options: PublishOptions;
  config?: Config;
  vultr?: VultrClient;
  manifestPath?: string;
  manifest?: Manifest;
  /** The library already held this ISO (same sha512): nothing is uploaded or registered. */
  alreadyInLibrary?: VultrIso;
  storage?: { client: S3Client; settings: StorageSettings; key: string };
  objectUploaded?: boolean;
  url?: string;
  /** POST /iso was sent and has not answered yet: how to find what it made. */
  pendingIso?: PendingCreate<VultrIso>;
  /** The ISO this run created in Vultr's library (deleted again if the run fails). */
  createdIsoId?: string;
  iso?: VultrIso;
  /** File names of our ISOs deleted by pruning. */
  pruned: string[];
  /** File names of our ISOs pruning would have deleted, kept because an instance has them attached. */
  keptAttached: string[];
}
