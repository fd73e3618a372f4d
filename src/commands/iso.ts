// `vultr-sid-iso iso list`: our ISOs in the account's Vultr ISO library.
import type { Command } from '@commander-js/extra-typings';
import { loadConfig } from '../config/load.js';
import { ours } from '../iso/vultr-library.js';
import { describeInstance, vultrClient } from '../systems/vultr-api.js';
import { commonOptions, runAction, type Env, type RunContext } from './run.js';

/** Our ISOs, newest first, each with the instances it is attached to. */
export async function listOurIsos(configPath: string, { settings, signal }: RunContext) {
  const config = await loadConfig(configPath, settings.secrets);
  const vultr = vultrClient(settings, signal);
  const library = { isos: await vultr.listIsos(), attached: await vultr.attachments() };
  return ours(library, config.name).map((iso) => {
    const holders = library.attached.get(iso.id) ?? [];
    return {
      ...iso,
      attachedTo: holders.map((i) => ({ id: i.id, label: i.label, mainIp: i.main_ip })),
      attachedText: holders.map(describeInstance).join(', '),
    };
  });
}

export function registerIso(program: Command, env: Env): void {
  const iso = program.command('iso').description('Our ISOs in the Vultr library.');
  commonOptions(iso.command('list'), 'print JSON on stdout')
    .description("Our ISOs (file names starting with the config's name prefix), newest first, with the instances each is attached to.")
    .action((opts) =>
      runAction(env, opts, async (run) => {
        const isos = await listOurIsos(opts.config, run);
        if (!opts.json) for (const i of isos) process.stdout.write(`${i.id}  ${i.filename}  ${i.status}  ${i.date_created}${i.attachedText ? `  attached to ${i.attachedText}` : ''}\n`);
        return isos.map(({ attachedText: _text, ...iso }) => iso);
      }),
    );
}
