// Boot a built ISO in QEMU and require the preseed marker on the serial console, so the
// nightly never publishes an ISO that does not start its unattended install.
//   node dist/scripts/boot-check.js ISO [bios|uefi ...]   (default: both)
import { bootToPreseed } from './preseed-boot.js';

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
    const r = await bootToPreseed(iso, firmware, limit);
    console.error(`${firmware}: ${r.ok ? `preseed marker after ${(r.ms / 1000).toFixed(0)} s` : 'FAILED'}`);
    if (!r.ok) {
      console.error(r.serial.slice(-3000));
      failed++;
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
