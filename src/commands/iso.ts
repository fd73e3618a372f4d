// `vultr-sid-iso iso list`: our ISOs in the account's Vultr ISO library.
import type { Command } from '@commander-js/extra-typings';
import { loadConfig } from '../config/load.js';
import { isOurIsoFileName } from '../iso/output-name.js';
import { vultrClient } from '../systems/vultr-api.js';
import { commonOptions, runAction, type Env, type RunContext } from './run.js';

export async function listOurIsos(configPath: string, { settings, signal }: RunContext) {
  const config = await loadConfig(configPath, settings.secrets);
  const isos = await vultrClient(settings, signal).listIsos();
  return isos.filter((i) => isOurIsoFileName(i.filename, config.name)).sort((a, b) => Date.parse(b.date_created) - Date.parse(a.date_created));
}

export function registerIso(program: Command, env: Env): void {
  const iso = program.command('iso').description('Our ISOs in the Vultr library.');
  commonOptions(iso.command('list'), 'print JSON on stdout')
    .description("Our ISOs (file names starting with the config's name prefix), newest first.")
    .action((opts) =>
      runAction(env, opts, async (run) => {
        const isos = await listOurIsos(opts.config, run);
        if (!opts.json) for (const i of isos) process.stdout.write(`${i.id}  ${i.filename}  ${i.status}  ${i.date_created}\n`);
        return isos;
      }),
    );
}
