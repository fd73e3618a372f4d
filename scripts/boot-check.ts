// Boot a built ISO in QEMU and require the preseed marker on the serial console, so the
// nightly never publishes an ISO that does not start its unattended install.
//   node dist/scripts/boot-check.js [--logs DIR] ISO [bios|uefi ...]   (default: both; --help)
// --logs DIR keeps each boot's serial log there (the nightly uploads them, pass or fail).
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Argument } from '@commander-js/extra-typings';
import { bootToPreseed } from './preseed-boot.js';
import { GuestDied } from './qemu-boot.js';
import { parseScriptArgs, scriptCommand } from './script-cli.js';

const command = parseScriptArgs(
  scriptCommand('boot-check', 'Boot a built ISO in QEMU on a blank disk and require the preseed marker on the serial console.')
    .argument('<iso>', 'the built ISO')
    .addArgument(new Argument('[firmware...]', 'bios, uefi or both (default: both)').choices(['bios', 'uefi'] as const))
    .option('--logs <dir>', 'keep each boot\'s serial log in DIR'),
);
const [iso, chosen] = command.processedArgs;
const values = command.opts();

async function main(): Promise<number> {
  const firmwares = chosen?.length ? chosen : (['bios', 'uefi'] as const);
  const limit = Number(process.env.BOOT_CHECK_TIMEOUT ?? 600) * 1000;
  let failed = 0;
  for (const firmware of firmwares) {
    const r = await bootToPreseed(iso, firmware, limit, {
      keepLog: async (serialLog) => {
        if (!values.logs) return;
        await mkdir(values.logs, { recursive: true });
        await copyFile(serialLog, join(values.logs, `boot-check-${firmware}.serial.log`));
      },
    }).catch((error: unknown) => {
      if (!(error instanceof GuestDied)) throw error;
      console.error(`${firmware}: FAILED: ${error.message}`);
      return undefined;
    });
    if (!r) {
      failed++;
      continue;
    }
    console.error(`${firmware}: ${r.ok ? `preseed marker after ${(r.ms / 1000).toFixed(0)} s` : 'FAILED'}`);
    if (!r.ok) {
      console.error(r.serial.slice(-3000));
      failed++;
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
