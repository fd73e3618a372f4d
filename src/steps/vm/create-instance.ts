// Newest published ISO → an instance booting it (IPv6 on, never os_id). The instance id is
// recorded the moment it exists: until the install is known finished, a failure or Ctrl-C
// deletes it (waiting out Vultr's lock first); from then on it is kept, and the run says
// how to carry on.
import { readFile } from 'node:fs/promises';
import { loadConfig } from '../../config/load.js';
import { fqdn } from '../../config/schema.js';
import { ours } from '../../iso/vultr-library.js';
import { messageOf, OperationError, UserInputError } from '../../pipeline/errors.js';
import type { Step } from '../../pipeline/runner.js';
import { vultrClient, type InstanceRequest, type VultrIso } from '../../systems/vultr-api.js';
import type { VmState } from './state.js';

/** `latest` (our newest complete ISO), an ISO id, or a file name. */
export async function pickIso(state: VmState): Promise<VultrIso> {
  const wanted = state.options.iso;
  const isos = (await state.vultr!.listIsos()).filter((i) => i.status === 'complete');
  const found = wanted === 'latest' ? ours({ isos, attached: new Map() }, state.config!.name)[0] : isos.find((i) => i.id === wanted || i.filename === wanted);
  if (!found) {
    throw new UserInputError(
      wanted === 'latest'
        ? `the Vultr library holds no complete ISO named ${state.config!.name}-*.iso; run npm run publish-iso first`
        : `--iso ${wanted} matches no complete ISO in the Vultr library (by id or file name); see vultr-sid-iso iso list`,
    );
  }
  return found;
}

export const chooseIso: Step<VmState> = {
  title: 'Pick the ISO',
  async run(state, { signal }) {
    state.config = await loadConfig(state.options.configPath, state.options.settings.secrets);
    state.vultr = vultrClient(state.options.settings, signal, state.options.trace);
    state.iso = await pickIso(state);
    return `${state.iso.filename} (${state.iso.id})`;
  },
};

/** What is left of a run that failed after the install finished, and the command that carries on. */
export function continuation(state: VmState): string {
  const id = state.instanceId!;
  return state.detached
    ? `instance ${id} is installed and its ISO is detached; nothing is left to do but let it finish booting (vultr-sid-iso vm list shows it)`
    : `instance ${id} is installed, with its ISO still attached (harmless: the ISO boots the installed system); carry on with: vultr-sid-iso vm detach ${id}`;
}

export const createInstance: Step<VmState> = {
  title: 'Create the instance',
  async run(state, { reporter }) {
    const { options, config } = state;
    const region = options.region ?? config!.vm.region;
    const plan = options.plan ?? config!.vm.plan;
    if (!region || !plan) throw new UserInputError('no region or plan; pass --region and --plan (e.g. --region ewr --plan vc2-1c-2gb) or set vm.region and vm.plan in the config');
    const label = options.label ?? `${config!.name}-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}`;
    let userData: string | undefined;
    if (options.userDataFile) {
      try {
        userData = (await readFile(options.userDataFile)).toString('base64');
      } catch (error) {
        throw new UserInputError(`--user-data ${options.userDataFile} cannot be read (${(error as NodeJS.ErrnoException).code}); pass a readable cloud-config file`, { cause: error });
      }
    }
    const request: InstanceRequest = {
      region,
      plan,
      iso_id: state.iso!.id,
      enable_ipv6: true,
      label,
      // Vultr serves this to cloud-init on the VM, which sets the hostname from it (an FQDN
      // also sets the domain), as the installer did from the config.
      hostname: options.hostname ?? fqdn(config!),
      tags: [...new Set([...config!.vm.tags, ...(options.tags ?? [])])],
      ...(options.sshKeys.length ? { sshkey_id: options.sshKeys } : {}),
      ...(userData ? { user_data: userData } : {}),
    };
    const instance = await state.vultr!.createInstance(request, (error) => reporter.warn(`${error.message}; checking whether the instance was created anyway`));
    state.instanceId = instance.id;
    state.instance = instance;
    state.createdAt = Date.now();
    return `${instance.id} (${label}) in ${region}`;
  },
  async cleanup(state, { failed, reporter, signal }) {
    if (!failed || !state.instanceId) return;
    if (state.installMs !== undefined) {
      // Installed: deleting it now would throw away a good VM.
      const note = continuation(state);
      reporter.warn(note);
      return note;
    }
    const id = state.instanceId;
    try {
      await state.vultr!.withSignal(signal).whenUnlocked(id, 'delete it', () => state.vultr!.withSignal(signal).deleteInstance(id), {
        intervalMs: state.options.pollIntervalMs,
        info: (m) => reporter.info(m),
      });
      reporter.warn(`deleted the unfinished instance ${id}`);
    } catch (error) {
      throw new OperationError(`could not delete instance ${id} (${messageOf(error)}); delete it with vultr-sid-iso vm delete ${id}, it is billed while it exists`);
    }
  },
};
