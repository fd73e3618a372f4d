// Newest published ISO → instance (IPv6 on, booting the ISO, never os_id) → wait for the
// unattended install to power the VM off → detach the ISO (so no reboot can reinstall) →
// start it → wait for it to run. A failure or Ctrl-C deletes the instance it created.
import { readFile } from 'node:fs/promises';
import { loadConfig } from '../../config/load.js';
import { fqdn } from '../../config/schema.js';
import { isOurIsoFileName } from '../../iso/output-name.js';
import { messageOf, OperationError, UserInputError } from '../../pipeline/errors.js';
import type { Reporter } from '../../pipeline/reporter.js';
import type { Step } from '../../pipeline/runner.js';
import { vultrClient, type InstanceRequest, type VultrInstance, type VultrIso } from '../../systems/vultr-api.js';
import { waitFor } from '../../systems/wait-for.js';
import type { VmState } from './state.js';

/** `latest` (our newest complete ISO), an ISO id, or a file name. */
export async function pickIso(state: VmState): Promise<VultrIso> {
  const wanted = state.options.iso;
  const isos = await state.vultr!.listIsos();
  const complete = isos.filter((i) => i.status === 'complete');
  const found =
    wanted === 'latest'
      ? complete.filter((i) => isOurIsoFileName(i.filename, state.config!.name)).sort((a, b) => Date.parse(b.date_created) - Date.parse(a.date_created))[0]
      : complete.find((i) => i.id === wanted || i.filename === wanted);
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
    state.vultr = vultrClient(state.options.settings, signal);
    state.iso = await pickIso(state);
    return `${state.iso.filename} (${state.iso.id})`;
  },
};

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
      tags: config!.vm.tags,
      ...(options.sshKeys.length ? { sshkey_id: options.sshKeys } : {}),
      ...(userData ? { user_data: userData } : {}),
    };
    const instance = await state.vultr!.createInstance(request, (error) => reporter.warn(`${error.message}; checking whether the instance was created anyway`));
    state.instanceId = instance.id;
    state.instance = instance;
    return `${instance.id} (${label}) in ${region}`;
  },
  async cleanup(state, { failed, reporter, signal }) {
    if (!failed || !state.instanceId) return;
    try {
      await state.vultr!.withSignal(signal).deleteInstance(state.instanceId);
      reporter.warn(`deleted the unfinished instance ${state.instanceId}`);
    } catch (error) {
      throw new OperationError(`could not delete instance ${state.instanceId} (${messageOf(error)}); delete it in the Vultr console, it is billed while it exists`);
    }
  },
};

const waitOptions = (state: VmState, signal: AbortSignal, reporter: Reporter) => ({
  intervalMs: state.options.pollIntervalMs,
  timeoutMs: state.options.timeoutMs,
  signal,
  reporter,
});

export const waitForInstall: Step<VmState> = {
  title: 'Wait for the unattended install (it powers the VM off)',
  skip: (state) => (state.options.noWait ? '--no-wait' : undefined),
  async run(state, { reporter, signal }) {
    let sawRunning = false;
    state.instance = await waitFor<VultrInstance>(
      `instance ${state.instanceId} to install and power off`,
      async () => {
        const i = await state.vultr!.getInstance(state.instanceId!);
        if (i.status === 'active' && i.power_status === 'running') sawRunning = true;
        if (sawRunning && i.status === 'active' && i.power_status === 'stopped') return { done: i };
        return { state: `${i.status}/${i.power_status}${i.server_status ? `/${i.server_status}` : ''}` };
      },
      waitOptions(state, signal, reporter),
    );
    return 'installed and powered off';
  },
};

export const detachAndBoot: Step<VmState> = {
  title: 'Detach the ISO and boot the installed system',
  skip: (state) => (state.options.noWait ? '--no-wait' : undefined),
  async run(state, { reporter, signal }) {
    const vultr = state.vultr!;
    const id = state.instanceId!;
    await vultr.detachIso(id);
    await waitFor<true>(
      `the ISO to detach from ${id}`,
      async () => {
        const s = await vultr.instanceIsoStatus(id);
        return s.state === 'ready' ? { done: true } : { state: s.state };
      },
      waitOptions(state, signal, reporter),
    );
    const now = await vultr.getInstance(id);
    if (now.power_status !== 'running') await vultr.startInstance(id);
    state.instance = await waitFor<VultrInstance>(
      `instance ${id} to run`,
      async () => {
        const i = await vultr.getInstance(id);
        return i.status === 'active' && i.power_status === 'running' ? { done: i } : { state: `${i.status}/${i.power_status}` };
      },
      waitOptions(state, signal, reporter),
    );
    return 'running';
  },
};
