// `vultr-sid-iso vm create | vm list | vm detach | vm delete`: instances booted from our ISO.
import { InvalidArgumentError, type Command } from '@commander-js/extra-typings';
import { loadConfig } from '../config/load.js';
import { containerPrefix, formatPrefix, parseIPv6, parsePrefix } from '../net/ipv6.js';
import { CLI_COMMAND } from '../paths.js';
import { UserInputError } from '../pipeline/errors.js';
import type { Config } from '../config/schema.js';
import { createVms, MAX_COUNT } from '../steps/vm/fleet.js';
import { detachAndConfirm } from '../steps/vm/install.js';
import type { VmCreateOptions, VmState } from '../steps/vm/state.js';
import { hasTag, instanceV6, isGone, vultrClient, type VultrClient, type VultrInstance } from '../systems/vultr-api.js';
import type { RunSummary } from '../pipeline/actions-reporter.js';
import { commonOptions, openTrace, positiveNumber, runAction, type Env, type RunContext, type Summary } from './run.js';

export interface VmResult {
  id: string;
  mainIp: string;
  v6MainIp: string | null;
  v6Network: string | null;
  v6NetworkSize: number | null;
  /** The /80 the VM's boot program will give Docker (same rules, computed here). */
  containerPrefix: string | null;
  /** From creation until the installed system answered on SSH (null with --no-wait). */
  installSeconds: number | null;
}

/** VmResult's fields, for --help: `satisfies` fails to compile when one is missing or extra. */
const VM_RESULT_FIELDS = Object.keys({
  id: true,
  mainIp: true,
  v6MainIp: true,
  v6Network: true,
  v6NetworkSize: true,
  containerPrefix: true,
  installSeconds: true,
} satisfies Record<keyof VmResult, true>);

/** What a run tells about one VM it made. */
export function vmResult(state: VmState): VmResult {
  const i = state.instance!;
  const v6 = instanceV6(i);
  let prefix: string | null = null;
  const network = v6.network && v6.size ? parsePrefix(`${v6.network}/${v6.size}`) : undefined;
  if (network && network.length === 64) {
    prefix = formatPrefix(containerPrefix(network, v6.mainIp ? parseIPv6(v6.mainIp) : undefined, state.config!.docker.subnet));
  }
  return {
    id: i.id,
    mainIp: i.main_ip,
    v6MainIp: v6.mainIp ?? null,
    v6Network: v6.network ?? null,
    v6NetworkSize: v6.size ?? null,
    // An IPv6-only VM said which /80 its boot program chose (checked to lie in its /64).
    containerPrefix: state.installReport ? state.installReport.containerPrefix : prefix,
    installSeconds: state.installMs === undefined ? null : Math.round(state.installMs / 1000),
  };
}

/** One VM (count undefined), or `count` of them made in parallel. */
export async function createVm(options: VmCreateOptions, run: Pick<RunContext, 'reporter' | 'signal' | 'leftovers'>): Promise<VmResult[]> {
  return (await createVms(options, options.count, run)).map(vmResult);
}

export async function listOurVms(configPath: string, { settings, signal }: RunContext) {
  const config = await loadConfig(configPath, settings.secrets);
  const vms = await vultrClient(settings, signal).listTagged(config.vm.tags[0]!);
  return vms.map((i) => ({ id: i.id, label: i.label, region: i.region, status: i.status, powerStatus: i.power_status, mainIp: i.main_ip, v6MainIp: instanceV6(i).mainIp ?? null }));
}

/** One of our instances (carrying the first of vm.tags): never someone else's VM. */
async function ourInstance(vultr: VultrClient, config: Config, id: string, doing: string): Promise<VultrInstance> {
  let instance: VultrInstance;
  try {
    instance = await vultr.getInstance(id);
  } catch (error) {
    if (isGone(error)) throw new UserInputError(`Vultr has no instance ${id}; see ${CLI_COMMAND} vm list for ours`, { cause: error });
    throw error;
  }
  if (!hasTag(instance, config.vm.tags[0]!)) {
    throw new UserInputError(`instance ${id} does not carry the tag ${config.vm.tags[0]}, so it is not ours; ${doing} in the Vultr console if you mean it`);
  }
  return instance;
}

/** Deletes one of our instances, once Vultr lets it (not while it is locked). */
export async function deleteOurVm(configPath: string, id: string, pollIntervalMs: number, { settings, signal, reporter }: RunContext): Promise<void> {
  const config = await loadConfig(configPath, settings.secrets);
  const vultr = vultrClient(settings, signal);
  await ourInstance(vultr, config, id, 'delete it');
  await vultr.whenUnlocked(id, 'delete it', () => vultr.deleteInstance(id), { intervalMs: pollIntervalMs, info: (m) => reporter.info(m) });
}

/** Detaches the ISO from one of our instances (Vultr restarts it); false when none is mounted. */
export async function detachOurVm(configPath: string, id: string, pollIntervalMs: number, timeoutMs: number, run: RunContext): Promise<boolean> {
  const config = await loadConfig(configPath, run.settings.secrets);
  const vultr = vultrClient(run.settings, run.signal);
  await ourInstance(vultr, config, id, 'detach its ISO');
  // Already done (a run cut short after its detach went out): a second one would restart it again.
  if ((await vultr.instanceIsoStatus(id)).state === 'ready') return false;
  const state: VmState = {
    options: { configPath, iso: '', sshKeys: [], noWait: false, pollIntervalMs, timeoutMs, settings: run.settings },
    vultr,
    instanceId: id,
  };
  await detachAndConfirm(state, run);
  return true;
}

const vmRows = (v: VmResult, scope = ''): [string, string][] => [
  [`${scope}Instance`, v.id],
  [`${scope}IPv4`, v.mainIp],
  [`${scope}IPv6`, v.v6MainIp ?? ''],
  [`${scope}IPv6 network`, v.v6Network ? `${v.v6Network}/${v.v6NetworkSize}` : ''],
  [`${scope}Container /80`, v.containerPrefix ?? ''],
  [`${scope}Install took`, v.installSeconds === null ? '' : `${(v.installSeconds / 60).toFixed(1)} min`],
];

/** The one VM of a plain run, or the fleet of --count (one JSON object per VM). */
const summary: Summary<VmResult | VmResult[]> = {
  command: 'vm create',
  describe(v): Pick<RunSummary, 'rows' | 'outputs'> {
    if (!Array.isArray(v)) return { rows: vmRows(v), outputs: { 'vm-id': v.id } };
    return { rows: v.flatMap((one, i) => vmRows(one, `VM ${i + 1}: `)), outputs: { 'vm-ids': v.map((one) => one.id).join(',') } };
  },
};

const say = (r: VmResult) =>
  `VM ${r.id}: ${r.mainIp}, IPv6 ${r.v6MainIp ?? '(none yet)'}, network ${r.v6Network ?? '?'}/${r.v6NetworkSize ?? '?'}, containers ${r.containerPrefix ?? '(unknown yet)'}${r.installSeconds === null ? '' : `, installed in ${(r.installSeconds / 60).toFixed(1)} min`}`;

/** --count: a whole number from 1 to MAX_COUNT. */
function count(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > MAX_COUNT) throw new InvalidArgumentError(`--count must be a whole number from 1 to ${MAX_COUNT}, got "${value}" (for more, see docs/terraform.md).`);
  return n;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const collectTag = (value: string, previous: string[]) => {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a tag (letters, digits and _ . : -, at most 64).`);
  return [...previous, value];
};

export function registerVm(program: Command, env: Env): void {
  const vm = program.command('vm').description('Vultr instances booted from our ISO.');
  commonOptions(vm.command('create'), `print { ${VM_RESULT_FIELDS.join(', ')} } on stdout (with --count, a list of them)`)
    .description('Create a VM from the newest published ISO, wait for the unattended install, detach the ISO and boot it.')
    .option('--iso <latest|id|filename>', 'which ISO', 'latest')
    .option('--region <id>', 'Vultr region (default: vm.region)')
    .option('--plan <id>', 'Vultr plan (default: vm.plan)')
    .option('--label <label>', 'instance label')
    .option('--hostname <name>', "host name, or an FQDN to set the domain too (default: the config's installer.hostname and domain)")
    .option('--ssh-key <id>', 'Vultr SSH key id, added to the admin user on first boot (repeatable)', collect, [] as string[])
    .option('--tag <tag>', 'another tag for this VM, after vm.tags (repeatable), e.g. a CI run id to clean up by', collectTag, [] as string[])
    .option('--user-data <file>', "user-data for cloud-init on the VM, merged over the ISO's settings")
    .option('--ipv6-only', 'no public IPv4 (Vultr\'s disable_public_ipv4; default: vm.ipv6Only); see the docs for how the install is then seen')
    .option('--count <n>', `create N VMs from the ISO in parallel, labelled LABEL-1 … LABEL-N (1 to ${MAX_COUNT})`, count)
    .option('--no-wait', 'return right after creating the instance')
    .option('--poll-interval <seconds>', 'seconds between status checks', positiveNumber('--poll-interval'), 10)
    .option('--timeout <seconds>', 'seconds to wait for each phase', positiveNumber('--timeout'), 3600)
    .option('--trace <file>', 'write every Vultr API answer and SSH probe seen to FILE as JSON lines (never the key), to send in or replay')
    .action((opts) =>
      runAction(
        env,
        opts,
        async (run) => {
          const result = await createVm(
            {
              configPath: opts.config,
              iso: opts.iso,
              region: opts.region,
              plan: opts.plan,
              label: opts.label,
              hostname: opts.hostname,
              sshKeys: opts.sshKey,
              tags: opts.tag,
              userDataFile: opts.userData,
              ipv6Only: opts.ipv6Only ? true : undefined,
              count: opts.count,
              noWait: !opts.wait,
              pollIntervalMs: opts.pollInterval * 1000,
              timeoutMs: opts.timeout * 1000,
              trace: openTrace(opts.trace, run.reporter),
              settings: run.settings,
            },
            run,
          );
          for (const r of result) run.reporter.info(say(r));
          return opts.count === undefined ? result[0]! : result;
        },
        summary,
      ),
    );
  commonOptions(vm.command('detach'), 'print JSON on stdout')
    .description('Detach the ISO from one of our VMs (one carrying the first of vm.tags); Vultr restarts it into the installed system.')
    .argument('<id>', 'instance id')
    .option('--poll-interval <seconds>', 'seconds between status checks', positiveNumber('--poll-interval'), 10)
    .option('--timeout <seconds>', 'seconds to wait for the detach', positiveNumber('--timeout'), 900)
    .action((id, opts) =>
      runAction(env, opts, async (run) => {
        const detached = await detachOurVm(opts.config, id, opts.pollInterval * 1000, opts.timeout * 1000, run);
        run.reporter.info(detached ? `detached the ISO from VM ${id}; Vultr restarts it` : `VM ${id} has no ISO attached; nothing to do`);
        return { id, detached };
      }),
    );
  commonOptions(vm.command('delete'), 'print JSON on stdout')
    .description('Delete one of our VMs (one carrying the first of vm.tags), e.g. a smoke-test VM; waits while Vultr has it locked.')
    .argument('<id>', 'instance id')
    .option('--poll-interval <seconds>', 'seconds between status checks while it is locked', positiveNumber('--poll-interval'), 10)
    .action((id, opts) =>
      runAction(env, opts, async (run) => {
        await deleteOurVm(opts.config, id, opts.pollInterval * 1000, run);
        run.reporter.info(`deleted VM ${id}`);
        return { id, deleted: true };
      }),
    );
  commonOptions(vm.command('list'), 'print JSON on stdout')
    .description('Our VMs (by the vm.tags tag).')
    .action((opts) =>
      runAction(env, opts, async (run) => {
        const vms = await listOurVms(opts.config, run);
        if (!opts.json) for (const v of vms) process.stdout.write(`${v.id}  ${v.label}  ${v.region}  ${v.status}/${v.powerStatus}  ${v.mainIp}  ${v.v6MainIp ?? ''}\n`);
        return vms;
      }),
    );
}
