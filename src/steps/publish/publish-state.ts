// The typed state shared by the publish steps.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../../config/schema.js';
import type { StorageSettings } from '../../systems/object-storage.js';
import type { VultrClient, VultrIso } from '../../systems/vultr-api.js';
import type { Manifest } from '../build-state.js';

export interface PublishOptions {
  configPath: string;
  manifestPath?: string;
  outDir: string;
  url?: string;
  keepObject: boolean;
  keep?: number;
  pollIntervalMs: number;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
}

export interface PublishState {
  options: PublishOptions;
  config?: Config;
  vultr?: VultrClient;
  manifestPath?: string;
  manifest?: Manifest;
  /** Set when the library already holds this ISO. */
  reused?: VultrIso;
  storage?: { client: S3Client; settings: StorageSettings; key: string };
  objectUploaded?: boolean;
  url?: string;
  /** The ISO this run created in Vultr's library (deleted again if the run fails). */
  createdIsoId?: string;
  iso?: VultrIso;
  pruned: string[];
  skipped: string[];
}
