// `vultr-sid-iso vm create | vm list | iso list`.
import { loadConfig } from '../config/load.js';
import { UserInputError } from '../pipeline/errors.js';
import { containerPrefix, formatPrefix, parseIPv6, parsePrefix } from '../net/ipv6.js';
import type { Reporter } from '../pipeline/reporter.js';
import { runSteps } from '../pipeline/runner.js';
import { vultrClientFor } from '../steps/publish/find-existing.js';
import { isOurs } from '../steps/publish/record-and-prune.js';
import { chooseIso, createInstance, detachAndBoot, waitForInstall } from '../steps/vm/create-vm.js';
import type { VmCreateOptions, VmState } from '../steps/vm/vm-state.js';
import { instanceV6 } from '../systems/vultr-api.js';

export interface VmResult {
  id: string;
  mainIp: string;
  v6MainIp: string | null;
  v6Network: string | null;
  v6NetworkSize: number | null;
  /** The /80 the VM's boot program will give Docker (same rules, computed here). */
  containerPrefix: string | null;
}

export async function createVm(options: VmCreateOptions, reporter: Reporter, signal: AbortSignal, onStepTimed?: (t: string, ms: number) => void): Promise<VmResult> {
  const state: VmState = { options };
  await runSteps([chooseIso, createInstance, waitForInstall, detachAndBoot], state, { reporter, signal, onStepTimed });
  const i = state.instance!;
  const v6 = instanceV6(i);
  let prefix: string | null = null;
  const network = v6.network && v6.size ? parsePrefix(`${v6.network}/${v6.size}`) : undefined;
  if (network && network.length === 64) {
    prefix = formatPrefix(containerPrefix(network, v6.mainIp ? parseIPv6(v6.mainIp) : undefined, state.config!.docker.subnet));
  }
  return { id: i.id, mainIp: i.main_ip, v6MainIp: v6.mainIp ?? null, v6Network: v6.network ?? null, v6NetworkSize: v6.size ?? null, containerPrefix: prefix };
}

export async function listOurIsos(configPath: string, env: NodeJS.ProcessEnv, reporter: Reporter, signal: AbortSignal) {
  const config = await loadConfig(configPath, env);
  reporter.mask(env.VULTR_API_KEY ?? '');
  const isos = await vultrClientFor(env, signal).listIsos();
  return isos.filter((i) => isOurs(i.filename, config.name)).sort((a, b) => Date.parse(b.date_created) - Date.parse(a.date_created));
}

export async function listOurVms(configPath: string, env: NodeJS.ProcessEnv, reporter: Reporter, signal: AbortSignal) {
  const config = await loadConfig(configPath, env);
  reporter.mask(env.VULTR_API_KEY ?? '');
  const vms = await vultrClientFor(env, signal).listInstances(config.vm.tags[0]);
  return vms.map((i) => ({ id: i.id, label: i.label, region: i.region, status: i.status, powerStatus: i.power_status, mainIp: i.main_ip, v6MainIp: instanceV6(i).mainIp ?? null }));
}

/** Deletes an instance, but only one carrying our tag: never someone else's VM. */
export async function deleteOurVm(configPath: string, id: string, env: NodeJS.ProcessEnv, reporter: Reporter, signal: AbortSignal): Promise<void> {
  const config = await loadConfig(configPath, env);
  reporter.mask(env.VULTR_API_KEY ?? '');
  const vultr = vultrClientFor(env, signal);
  const instance = await vultr.getInstance(id);
  if (!instance.tags?.includes(config.vm.tags[0]!)) {
    throw new UserInputError(`instance ${id} does not carry the tag ${config.vm.tags[0]}, so it is not ours; delete it in the Vultr console if you mean it`);
  }
  await vultr.deleteInstance(id);
}
