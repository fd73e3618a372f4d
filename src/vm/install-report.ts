// The status an IPv6-only VM sends at the end of its first boot (install-report-program.ts),
// read back by vm create. It is untrusted input: anyone holding the presigned URL could have
// written it (docs/security.md, "The install report"), so every field is checked, strings are
// cut to printable ASCII before they reach a terminal or a log, and a report that does not
// name the instance it was handed to is not taken as that instance's.
import { contains, formatPrefix, isIPv6Prefix, parsePrefix, type Prefix } from '../net/ipv6.js';

/** The most a report may weigh: a real one is a few hundred bytes. */
export const MAX_REPORT_BYTES = 16 * 1024;

export interface InstallReport {
  instanceId: string;
  /** The /80 the VM's boot program gave Docker, or null (no IPv6 on that boot). */
  containerPrefix: string | null;
  ipv6: boolean;
  /** The VM's own SSH server answered on the VM. */
  sshd: boolean;
  /** Parts of the installed system that are missing (names, e.g. "docker"). */
  missing: string[];
  /** cloud-init's errors on that boot. */
  cloudInitErrors: string[];
}

export type ReportCheck = { report: InstallReport } | { problem: string };

/** Printable ASCII only, at most `max` characters: nothing that could drive a terminal or a CI log. */
export function printable(value: string, max: number): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

const isStringList = (v: unknown, most: number): v is string[] => Array.isArray(v) && v.length <= most && v.every((s) => typeof s === 'string');

/**
 * The report, if `text` is one from `instanceId`; else why not. `network` is the VM's /64 as
 * Vultr reports it: a container /80 outside it is refused.
 */
export function checkInstallReport(text: string, instanceId: string, network: Prefix | undefined): ReportCheck {
  if (Buffer.byteLength(text) > MAX_REPORT_BYTES) return { problem: `it is larger than ${MAX_REPORT_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'it is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'it is not a JSON object' };
  const r = value as Record<string, unknown>;
  if (r.version !== 1) return { problem: `its version is ${printable(JSON.stringify(r.version) ?? 'missing', 20)}, not 1` };
  if (r.instanceId !== instanceId) return { problem: `it names instance ${printable(String(r.instanceId), 64)}, not ${instanceId}` };
  if (typeof r.ipv6 !== 'boolean' || typeof r.sshd !== 'boolean') return { problem: 'its ipv6 or sshd field is not true or false' };
  if (!isStringList(r.missing, 20) || !isStringList(r.cloudInitErrors, 10)) return { problem: 'its missing or cloudInitErrors field is not a short list of strings' };
  let prefix: string | null = null;
  if (r.containerPrefix !== null && r.containerPrefix !== undefined) {
    if (typeof r.containerPrefix !== 'string' || !isIPv6Prefix(r.containerPrefix, 80)) return { problem: `its containerPrefix ${printable(String(r.containerPrefix), 60)} is not an IPv6 /80` };
    const p = parsePrefix(r.containerPrefix)!;
    if (network && !contains(network, p.network)) return { problem: `its containerPrefix ${formatPrefix(p)} is outside the VM's network ${formatPrefix(network)}` };
    prefix = formatPrefix(p);
  }
  return {
    report: {
      instanceId,
      containerPrefix: prefix,
      ipv6: r.ipv6,
      sshd: r.sshd,
      missing: r.missing.map((m) => printable(m, 64)),
      cloudInitErrors: r.cloudInitErrors.map((e) => printable(e, 200)),
    },
  };
}
