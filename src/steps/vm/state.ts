// The typed state shared by the `vm create` steps.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../../config/schema.js';
import type { Settings } from '../../config/settings.js';
import type { InstanceRequest, PendingCreate, VultrClient, VultrInstance, VultrIso } from '../../systems/vultr-api.js';
import type { StorageSettings } from '../../systems/object-storage.js';
import type { Trace } from '../../systems/vultr-trace.js';
import type { InstallReport } from '../../vm/install-report.js';

/** How the run sees that an install is done (install-signal.ts decides). */
export type InstallSignal =
  | { kind: 'ssh'; ipv4: boolean; ipv6: boolean }
  | {
      kind: 'report';
      /** This machine can reach the VM's IPv6 address too: its banner is watched after the detach (the report alone ends the install's wait). */
      ipv6Banner: boolean;
      client: S3Client;
      storage: StorageSettings;
      /** Key prefix for the reports (publish.s3.prefix). */
      prefix: string;
      /** The endpoint's IPv6 addresses, for a VM without DNS. */
      addresses: string[];
    };

export interface VmCreateOptions {
  configPath: string;
  iso: string;
  region?: string;
  plan?: string;
  label?: string;
  hostname?: string;
  sshKeys: string[];
  /** Tags added after vm.tags. */
  tags?: string[];
  userDataFile?: string;
  /** No public IPv4 (Vultr's disable_public_ipv4); also vm.ipv6Only. */
  ipv6Only?: boolean;
  /** --count N: that many VMs (undefined: the one VM of a plain run). */
  count?: number;
  noWait: boolean;
  pollIntervalMs: number;
  timeoutMs: number;
  trace?: Trace;
  settings: Pick<Settings, 'vultr' | 'http' | 'secrets' | 'ssh' | 's3' | 'ipv6Reach'>;
}

export interface VmState {
  options: VmCreateOptions;
  config?: Config;
  vultr?: VultrClient;
  iso?: VultrIso;
  /** What POST /instances is sent (but the ISO), from the flags and the config. */
  request?: Omit<InstanceRequest, 'iso_id'>;
  /** The bytes of --user-data FILE. */
  userData?: Buffer;
  /** How this run sees that an install is done (the SSH banner, or the VM's own report). */
  signal?: InstallSignal;
  /** The object this VM's report is PUT to (report signal), until it is deleted. */
  reportKey?: string;
  /** The VM's report, once read and checked. */
  installReport?: InstallReport;
  /** POST /instances was sent and has not answered yet: how to find what it made. */
  pendingInstance?: PendingCreate<VultrInstance>;
  /** Recorded the moment the instance exists, so a failure or Ctrl-C can delete it. */
  instanceId?: string;
  instance?: VultrInstance;
  /** When the instance was created (Date.now()). */
  createdAt?: number;
  /** How long the install took, once the installed system answered: from then on nothing deletes the VM. */
  installMs?: number;
  /** The ISO is detached. */
  detached?: boolean;
}
