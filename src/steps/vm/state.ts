// The typed state shared by the `vm create` steps.
import type { Config } from '../../config/schema.js';
import type { Settings } from '../../config/settings.js';
import type { VultrClient, VultrInstance, VultrIso } from '../../systems/vultr-api.js';

export interface VmCreateOptions {
  configPath: string;
  iso: string;
  region?: string;
  plan?: string;
  label?: string;
  hostname?: string;
  sshKeys: string[];
  userDataFile?: string;
  noWait: boolean;
  pollIntervalMs: number;
  timeoutMs: number;
  settings: Pick<Settings, 'vultr' | 'http' | 'secrets'>;
}

export interface VmState {
  options: VmCreateOptions;
  config?: Config;
  vultr?: VultrClient;
  iso?: VultrIso;
  /** Recorded the moment the instance exists, so a failure or Ctrl-C can delete it. */
  instanceId?: string;
  instance?: VultrInstance;
}
