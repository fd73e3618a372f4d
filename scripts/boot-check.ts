// Boot a built ISO in QEMU and require the preseed marker on the serial console, so the
// nightly never publishes an ISO that does not start its unattended install.
//   node dist/scripts/boot-check.js ISO [bios|uefi ...]   (default: both)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootIso } from './qemu-boot.js';

const MARKER = 'vultr-sid-iso: preseed loaded';
const LANGUAGE_QUESTION = /Select a language|Choose language/;

async function main(): Promise<number> {
  const [iso, ...rest] = process.argv.slice(2);
  if (!iso) {
    console.error('usage: boot-check ISO [bios|uefi ...]');
    return 2;
  }
  const firmwares = (rest.length ? rest : ['bios', 'uefi']) as ('bios' | 'uefi')[];
  const limit = Number(process.env.BOOT_CHECK_TIMEOUT ?? 600) * 1000;
  let failed = 0;
  for (const firmware of firmwares) {
    const dir = await mkdtemp(join(tmpdir(), 'vsi-boot-'));
    try {
      const r = await bootIso(iso, { firmware, workDir: dir, until: new RegExp(`${MARKER}|${LANGUAGE_QUESTION.source}`), timeoutMs: limit });
      const ok = r.serial.includes(MARKER) && !LANGUAGE_QUESTION.test(r.serial.slice(0, r.serial.indexOf(MARKER)));
      console.error(`${firmware}: ${ok ? `preseed marker after ${(r.ms / 1000).toFixed(0)} s` : 'FAILED'}`);
      if (!ok) {
        console.error(r.serial.slice(-3000));
        failed++;
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
