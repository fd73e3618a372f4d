// Newest published ISO → an instance booting it (IPv6 on, never os_id). Everything that can
// be checked without the network (region, plan, host name, user-data) is, before the first
// API call. Before the POST the instances already there are noted (PendingCreate): whatever
// happens to its answer, the instance it made is found among the new ones. Until the install
// is known finished, a failure or Ctrl-C deletes it (waiting out Vultr's lock first); from
// then on it is kept, and the run says how to carry on or remove it.
import { loadConfig } from '../../config/load.js';
import { fqdn, isDnsName, VULTR_ID } from '../../config/schema.js';
import { readInputFile } from '../../files/read-input.js';
import { ours, traceScope } from '../../iso/vultr-library.js';
import { CLI_COMMAND } from '../../paths.js';
import { messageOf, OperationError, UserInputError } from '../../pipeline/errors.js';
import type { Leftovers } from '../../pipeline/leftovers.js';
import type { Step } from '../../pipeline/runner.js';
import { isGone, settleWindow, vultrClient, type VultrIso } from '../../systems/vultr-api.js';
import { findUnanswered, removeDuplicates } from '../unanswered-create.js';
import type { VmState } from './state.js';

/** `latest` (our newest complete ISO), an ISO id, or a file name. */
export async function pickIso(state: VmState): Promise<VultrIso> {
  const wanted = state.options.iso;
  const isos = (await state.vultr!.listIsos()).filter((i) => i.status === 'complete');
  const found = wanted === 'latest' ? ours({ isos, attached: new Map() }, state.config!.name)[0] : isos.find((i) => i.id === wanted || i.filename === wanted);
  if (!found) {
    throw new UserInputError(
      wanted === 'latest'
        ? `the Vultr library holds no complete ISO named ${state.config!.name}-*.iso; run ${CLI_COMMAND} publish first`
        : `--iso ${wanted} matches no complete ISO in the Vultr library (by id or file name); see ${CLI_COMMAND} iso list`,
    );
  }
  return found;
}

/** "web" → "web-2"; for a host name, its first label ("web.example.org" → "web-2.example.org"): a fleet's names. */
export function numbered(name: string, n: number): string {
  const [first, ...rest] = name.split('.');
  return [`${first}-${n}`, ...rest].join('.');
}

export const planInstance: Step<VmState> = {
  title: 'Check the request',
  async run(state) {
    const { options } = state;
    const config = await loadConfig(options.configPath, options.settings.secrets);
    state.config = config;
    options.trace?.setScope(traceScope(config));
    const region = options.region ?? config.vm.region;
    const plan = options.plan ?? config.vm.plan;
    if (!region || !plan) throw new UserInputError('no region or plan; pass --region and --plan (e.g. --region ewr --plan vc2-1c-2gb) or set vm.region and vm.plan in the config');
    // The config's values passed its schema; flags get the same rules.
    if (!VULTR_ID.test(region)) throw new UserInputError(`--region "${region}" is not a Vultr region id (lower-case letters, digits and -); pass one like ewr`);
    if (!VULTR_ID.test(plan)) throw new UserInputError(`--plan "${plan}" is not a Vultr plan id (lower-case letters, digits and -); pass one like vc2-1c-2gb`);
    const hostname = options.hostname ?? fqdn(config);
    if (!isDnsName(hostname)) throw new UserInputError(`--hostname "${hostname}" is not a host name or a fully qualified one; pass one like web or web.example.org`);
    // A fleet numbers its host names (web-1 … web-N): each must still be one.
    if (options.count !== undefined && !isDnsName(numbered(hostname, options.count))) {
      throw new UserInputError(`--hostname "${hostname}" is too long to be numbered for --count ${options.count} (${numbered(hostname, options.count)}); pass a shorter one`);
    }
    if (options.userDataFile) {
      const file = options.userDataFile;
      state.userData = await readInputFile(file, { what: `--user-data ${file}`, missing: 'pass the path of a cloud-config file (one that starts with #cloud-config)' });
    }
    const label = options.label ?? `${config.name}-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}`;
    const ipv6Only = options.ipv6Only ?? config.vm.ipv6Only;
    options.ipv6Only = ipv6Only;
    state.request = {
      region,
      plan,
      enable_ipv6: true,
      // Fixed at creation; Vultr ignores it without enable_ipv6 (OpenAPI document, POST /instances).
      ...(ipv6Only ? { disable_public_ipv4: true as const } : {}),
      label,
      // Vultr serves this to cloud-init on the VM, which sets the hostname from it (an FQDN
      // also sets the domain), as the installer did from the config.
      hostname,
      tags: [...new Set([...config.vm.tags, ...(options.tags ?? [])])],
      ...(options.sshKeys.length ? { sshkey_id: options.sshKeys } : {}),
    };
    return `${label} in ${region}, plan ${plan}${ipv6Only ? ', IPv6 only' : ''}`;
  },
};

export const chooseIso: Step<VmState> = {
  title: 'Pick the ISO',
  async run(state, { signal }) {
    state.vultr = vultrClient(state.options.settings, signal, state.options.trace);
    state.iso = await pickIso(state);
    return `${state.iso.filename} (${state.iso.id})`;
  },
};

/** What is left of a run that failed after the install finished, and the commands that carry on or remove it. */
export function continuation(state: VmState): string {
  const id = state.instanceId!;
  const remove = `or remove it with: ${CLI_COMMAND} vm delete ${id}`;
  return state.detached
    ? `instance ${id} is installed and its ISO is detached, kept on purpose; nothing is left to do but let it finish booting (${CLI_COMMAND} vm list shows it), ${remove}`
    : `instance ${id} is installed, with its ISO still attached (harmless: the ISO boots the installed system), kept on purpose; carry on with: ${CLI_COMMAND} vm detach ${id}, ${remove}`;
}

/** The ledger's line for the instance, as far as the run knows it. */
export function noteInstance(leftovers: Leftovers, state: VmState): void {
  const id = state.instanceId;
  const text = !id
    ? `POST /instances got no clear answer, so Vultr may have made ${state.pendingInstance!.what} (tag ${state.request!.tags[0]}); find it with ${CLI_COMMAND} vm list and remove it with: ${CLI_COMMAND} vm delete ID`
    : state.installMs === undefined
      ? `instance ${id} (${state.request!.label}) is unfinished and billed while it exists; remove it with: ${CLI_COMMAND} vm delete ${id}`
      : continuation(state);
  leftovers.set('instance', text);
}

export const createInstance: Step<VmState> = {
  title: 'Create the instance',
  async run(state, { reporter, leftovers }) {
    const vultr = state.vultr!;
    const request = { ...state.request!, iso_id: state.iso!.id };
    state.pendingInstance = await vultr.pendingInstance(request);
    noteInstance(leftovers, state);
    const instance = await vultr.createInstance(request, state.pendingInstance, {
      ...settleWindow(state.options.pollIntervalMs),
      onUncertain: (error) => reporter.warn(`${error.message}; checking whether the instance was created anyway`),
    });
    state.instanceId = instance.id;
    state.instance = instance;
    state.createdAt = Date.now();
    // Kept when an attempt went unanswered: the cleanup then looks for a second one it made.
    if (!state.pendingInstance.uncertain) state.pendingInstance = undefined;
    noteInstance(leftovers, state);
    return `${instance.id} (${request.label}) in ${request.region}`;
  },
  async cleanup(state, ctx) {
    const { reporter, leftovers } = ctx;
    const vultr = state.vultr!.withSignal(ctx.signal);
    const lockWait = { intervalMs: state.options.pollIntervalMs, info: (m: string) => reporter.info(m) };
    if (ctx.failed && !state.instanceId) {
      await findUnanswered(state.pendingInstance, { vultr, key: 'instance', pollIntervalMs: state.options.pollIntervalMs }, ctx, (instance) => {
        state.instanceId = instance.id;
        noteInstance(leftovers, state);
      });
    }
    // The one the run made is dealt with on its own; anything else a lost answer made goes.
    await removeDuplicates(state.pendingInstance, state.instanceId, {
      vultr,
      describe: (i) => `instance ${i.id} (${i.label})`,
      remove: async (i) => {
        await vultr.whenUnlocked(i.id, 'delete it', () => vultr.deleteInstance(i.id), lockWait).catch((error: unknown) => {
          if (!isGone(error)) throw error;
        });
      },
      command: (id) => `${CLI_COMMAND} vm delete ${id}`,
    }, ctx);
    if (!ctx.failed) return;
    const id = state.instanceId;
    // Installed: deleting it now would throw away a good VM; the ledger says how to carry on.
    if (!id || state.installMs !== undefined) return;
    try {
      await vultr.whenUnlocked(id, 'delete it', () => vultr.deleteInstance(id), lockWait);
    } catch (error) {
      if (!isGone(error)) throw new OperationError(`could not delete instance ${id} (${messageOf(error)}); it is billed while it exists: remove it with: ${CLI_COMMAND} vm delete ${id}`);
    }
    leftovers.delete('instance');
    reporter.warn(`deleted the unfinished instance ${id}`);
  },
};
