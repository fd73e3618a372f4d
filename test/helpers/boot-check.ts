// The boot proof shared by the layout tests: build an ISO from a stand-in, boot it under
// SeaBIOS or OVMF with no network and no keyboard, and require the preseed marker on the
// serial console within a time limit, with no language question before it.
import { join } from 'node:path';
import { expect } from 'vitest';
import { standinIso } from './fixtures.js';
import { runCli, tempDir } from './project.js';
import { bootIso } from './qemu.js';

export const MARKER = 'vultr-sid-iso: preseed loaded';
// TCG on 2 cores needs ~110 s to the marker; with KVM it is a few seconds.
export const BOOT_LIMIT_MS = 360_000;
const LANGUAGE_QUESTION = /Select a language|Choose language/;

export async function buildFrom(kind: 'netinst' | 'mini', extra: string[] = []): Promise<{ iso: string; dir: string }> {
  const base = await standinIso(kind);
  const dir = await tempDir();
  const result = await runCli(['build', '--base-iso', base, '--out-dir', join(dir, 'out'), '--json', ...extra]);
  expect(result.exitCode, result.stderr).toBe(0);
  return { iso: JSON.parse(result.stdout).iso.path as string, dir };
}

export async function expectPreseedMarker(kind: 'netinst' | 'mini', firmware: 'bios' | 'uefi'): Promise<void> {
  const { iso, dir } = await buildFrom(kind);
  const boot = await bootIso(iso, { firmware, workDir: dir, until: new RegExp(`${MARKER}|${LANGUAGE_QUESTION.source}`), timeoutMs: BOOT_LIMIT_MS });
  const tail = boot.serial.slice(-2000);
  expect(boot.serial, `no marker within ${BOOT_LIMIT_MS / 1000} s; serial tail:\n${tail}`).toContain(MARKER);
  expect(boot.serial.slice(0, boot.serial.indexOf(MARKER))).not.toMatch(LANGUAGE_QUESTION);
}
