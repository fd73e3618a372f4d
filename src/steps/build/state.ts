// The typed state shared by the build steps; each step fills in its part.
import type { Config } from '../../config/schema.js';
import type { Settings } from '../../config/settings.js';
import type { HashWorker } from '../../files/hash-worker.js';
import type { BootEntry } from '../../iso/boot-menus.js';
import type { IsoLayout } from '../../iso/layout.js';
import type { Manifest } from '../../iso/manifest.js';
import type { Artifacts } from '../../render/artifacts.js';
import type { IsoReport } from '../../systems/xorriso.js';

export interface BuildOptions {
  configPath: string;
  baseIso?: string;
  outDir: string;
  cacheDir: string;
  renderOnly?: string;
  offline: boolean;
  requireVerified: boolean;
  /** --allow-insecure-url: a plain http:// base URL (not on loopback) is accepted. */
  allowInsecureUrl: boolean;
  /** The secret values (none may appear in the config) and HTTP tuning. */
  settings: Pick<Settings, 'secrets' | 'http'>;
}

export interface BaseImage {
  /** Local file the repack reads. */
  path: string;
  /** What the user asked for (path or URL), recorded in the manifest. */
  source: string;
  /** Known after verification (URL), or computed on another core while the ISO is written (local file). */
  sha512: Promise<string>;
  verified: boolean;
  /** fileIdentity(path) when it was chosen: the write checks the file did not change under it. */
  identity: string;
  /** Fingerprint of the key that signed for it (verified images only). */
  signer?: string;
}

export interface BuildState {
  options: BuildOptions;
  config?: Config;
  /** Hashes the base image on another thread while the ISO is written. */
  hasher?: HashWorker;
  /** Hash the output as xorriso writes it, one digest each. */
  outputHashers?: HashWorker[];
  artifacts?: Artifacts;
  base?: BaseImage;
  report?: IsoReport;
  /** Part of the inputs hash: another xorriso may lay out the same inputs differently. */
  xorrisoVersion?: string;
  /** sha256 over every file the build adds or changes (paths and bytes): part of the inputs hash. */
  addedFilesDigest?: string;
  layout?: IsoLayout;
  bootEntries?: BootEntry[];
  baseSha512?: string;
  inputsHash?: string;
  name?: string;
  /** Set when an identical ISO already exists: later steps do nothing. */
  upToDate?: Manifest;
  workDir?: string;
  replacements?: { localPath: string; isoPath: string }[];
  sourceDateEpoch?: number;
  tempIso?: string;
  isoHashes?: { size: number; sha256: string; sha512: string };
  finalIso?: string;
  isoPlaced?: boolean;
  manifest?: Manifest;
}
