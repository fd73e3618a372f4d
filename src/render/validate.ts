// In-process checks on rendered artifacts, run on every build. The tests also run the real
// validators (debconf-set-selections, cloud-init schema, systemd-analyze, shellcheck).
import yaml from 'js-yaml';
import { RenderError } from './handlebars-env.js';
import type { Artifacts } from './artifacts.js';

const PRESEED_TYPES = new Set(['string', 'boolean', 'select', 'multiselect', 'note', 'password', 'text', 'error', 'title']);

/**
 * Top-level cloud-config keys we accept. Debian 12's `cloud-init schema` (22.4) accepts
 * unknown top-level keys, so a typo there would pass it silently (the schema rejects them
 * only from 23.4: canonical/cloud-init#4562).
 */
export const CLOUD_CONFIG_KEYS = new Set([
  'apt', 'bootcmd', 'ca_certs', 'chpasswd', 'disable_root', 'fqdn', 'groups', 'hostname', 'locale',
  'manage_etc_hosts', 'mounts', 'ntp', 'package_update', 'package_upgrade', 'packages',
  'preserve_hostname', 'runcmd', 'ssh_authorized_keys', 'ssh_pwauth', 'ssh_deletekeys', 'timezone',
  'users', 'write_files', 'final_message', 'power_state', 'prefer_fqdn_over_hostname',
]);

/** Keys of cloud-init's system configuration (cloud.cfg.d) that are not cloud-config modules. */
export const SYSTEM_CONFIG_KEYS = new Set(['datasource_list', 'network', 'system_info', 'vendor_data']);

/** Our cloud.cfg.d drop-in on the installed system, and its path among the artifacts. */
export const CLOUD_SYSTEM_CONFIG_TARGET = '/etc/cloud/cloud.cfg.d/90-vultr-sid-iso.cfg';
export const CLOUD_SYSTEM_CONFIG = `rootfs${CLOUD_SYSTEM_CONFIG_TARGET}`;

export function checkPreseed(text: string): void {
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const m = /^(\S+)\s+(\S+)\s+(\S+)(?:\s(.*))?$/.exec(line);
    if (!m || !PRESEED_TYPES.has(m[3]!)) throw new RenderError(`preseed.cfg line ${i + 1} is not "owner question type value": ${line}`);
    if (m[3] === 'boolean' && !['true', 'false'].includes((m[4] ?? '').trim())) {
      throw new RenderError(`preseed.cfg line ${i + 1}: boolean ${m[2]} is "${m[4] ?? ''}"`);
    }
  });
}

function yamlMapping(name: string, text: string): Record<string, unknown> {
  const data = yaml.load(text);
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new RenderError(`${name} is not a YAML mapping`);
  return data as Record<string, unknown>;
}

function checkKeys(name: string, data: Record<string, unknown>, allowed: (key: string) => boolean): void {
  const unknown = Object.keys(data).filter((k) => !allowed(k));
  if (unknown.length) throw new RenderError(`${name} has unknown top-level keys: ${unknown.join(', ')}`);
}

export function checkCloudConfig(text: string): void {
  if (!text.startsWith('#cloud-config\n')) throw new RenderError('user-data does not start with "#cloud-config"');
  checkKeys('user-data', yamlMapping('user-data', text), (k) => CLOUD_CONFIG_KEYS.has(k));
}

/** Our cloud.cfg.d drop-in: cloud-config module keys plus the system-only ones. */
export function checkCloudSystemConfig(text: string): void {
  const name = CLOUD_SYSTEM_CONFIG_TARGET;
  checkKeys(name, yamlMapping(name, text), (k) => CLOUD_CONFIG_KEYS.has(k) || SYSTEM_CONFIG_KEYS.has(k));
}

export function validateArtifacts(artifacts: Artifacts): void {
  const text = (path: string) => {
    const a = artifacts.get(path);
    if (!a) throw new RenderError(`template output ${path} is missing`);
    return a.data.toString('utf8');
  };
  checkPreseed(text('preseed.cfg'));
  checkCloudConfig(text('user-data'));
  checkCloudSystemConfig(text(CLOUD_SYSTEM_CONFIG));
  const meta = yaml.load(text('meta-data')) as Record<string, unknown> | null;
  if (!meta || typeof meta['instance-id'] !== 'string') throw new RenderError('meta-data has no instance-id');
  for (const [path, a] of artifacts) {
    if (path.endsWith('.json')) {
      try {
        JSON.parse(a.data.toString('utf8'));
      } catch (error) {
        throw new RenderError(`${path} is not valid JSON: ${(error as Error).message}`);
      }
    }
  }
}
