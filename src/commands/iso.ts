// `vultr-sid-iso iso list | iso delete`: our ISOs in the account's Vultr ISO library.
import type { Command } from '@commander-js/extra-typings';
import { loadConfig } from '../config/load.js';
import { isOurIsoFileName } from '../iso/output-name.js';
import { ours } from '../iso/vultr-library.js';
import { CLI_COMMAND } from '../paths.js';
import { UserInputError } from '../pipeline/errors.js';
import { describeInstance, isGone, vultrClient, VultrApiError } from '../systems/vultr-api.js';
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

/** Deletes one of our ISOs (by its file name): the command a run names for an ISO it left. */
export async function deleteOurIso(configPath: string, id: string, { settings, signal }: RunContext): Promise<void> {
  const config = await loadConfig(configPath, settings.secrets);
  const vultr = vultrClient(settings, signal);
  let filename: string;
  try {
    filename = (await vultr.getIso(id)).filename;
  } catch (error) {
    if (isGone(error)) throw new UserInputError(`the Vultr library holds no ISO ${id}; see ${CLI_COMMAND} iso list`, { cause: error });
    throw error;
  }
  if (!isOurIsoFileName(filename, config.name)) {
    throw new UserInputError(`ISO ${id} (${filename}) is not named ${config.name}-<hash>.iso, so it is not ours; delete it in the Vultr console if you mean it`);
  }
  try {
    await vultr.deleteIso(id);
  } catch (error) {
    if (error instanceof VultrApiError && /still attached/i.test(error.vultrError)) {
      throw new UserInputError(`ISO ${id} (${filename}) is attached to an instance (${error.vultrError}); detach it first with ${CLI_COMMAND} vm detach <instance id>`, { cause: error });
    }
    if (!isGone(error)) throw error;
  }
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
  commonOptions(iso.command('delete'), 'print JSON on stdout')
    .description("Delete one of our ISOs (its file name starts with the config's name prefix), e.g. one a failed run left.")
    .argument('<id>', 'ISO id')
    .action((id, opts) =>
      runAction(env, opts, async (run) => {
        await deleteOurIso(opts.config, id, run);
        run.reporter.info(`deleted ISO ${id}`);
        return { id, deleted: true };
      }),
    );
}
