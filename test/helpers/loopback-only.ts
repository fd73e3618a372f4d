// The tests dial loopback addresses only: what that means (isLoopback), and the environment
// that loads the guard (loopback-guard.ts) into a CLI process and names the file where it
// writes what it refused. The guard itself patches node:net, so it lives apart from this.
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { parseIPv6 } from '../../src/net/ipv6.js';
import { PROJECT_ROOT } from '../../src/paths.js';

export const DIAL_LOG_VARIABLE = 'VULTR_SID_ISO_TEST_DIAL_LOG';
export const LOOPBACK_GUARD = join(PROJECT_ROOT, 'dist/test/helpers/loopback-guard.js');

/** 127.0.0.0/8, ::1, and 127/8 mapped into IPv6 (::ffff:127.x.y.z). */
export function isLoopback(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '');
  if (isIPv4(a)) return a.startsWith('127.');
  const v = parseIPv6(a);
  return v === 1n || (v !== undefined && v >> 32n === 0xffffn && ((v >> 24n) & 0xffn) === 127n);
}

/** NODE_OPTIONS that load the guard (after any already set), and where it logs. */
export function guardedEnv(log: string): Record<string, string> {
  return { NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${LOOPBACK_GUARD}`].filter(Boolean).join(' '), [DIAL_LOG_VARIABLE]: log };
}

/** The connections the guard refused, one line each (none when the log was never written). */
export function refusedDials(log: string): string[] {
  try {
    return readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
