// npm run acceptance:vultr: the whole product on a real Vultr account, the one thing the
// tests cannot reach. It builds an ISO, publishes it, creates a VM from it with a throwaway
// SSH key (through user-data, so cloud-init's Vultr datasource is exercised too), logs in,
// starts a container on the config's Docker network, checks its address is in the VM's /80
// and reaches its published port over IPv6 from here (scripts/acceptance/public-container.ts,
// which the lab test runs on its QEMU VM too), then deletes the VM and the ISO and checks
// that nothing tagged with the run's id is left. The traces of publish and vm create are kept,
// to send in or to replay (test/helpers/fake-vultr.ts).
//
// --out (which the nightly uploads as an artifact) holds only logs and traces: the key, the
// user-data and the run's config live in a private directory that is removed when the run
// ends (scripts/acceptance/private-dir.ts). What is ours is decided here: the VMs carrying the
// run's tag and the ISOs named <name>-acc-<hash>.iso, from full lists, never by Vultr's filters.
//
// The library holds only a few ISOs. With --iso ID (the nightly passes the ISO its publish
// job just made) nothing is built or published: the run tests that ISO and leaves it in the
// library. Without it, the run publishes its own and, if the library is full, frees a slot by
// deleting our oldest ISO, saying which (scripts/acceptance-room.ts).
//
// Billed, so it does nothing without VULTR_ACCEPTANCE=1 and credentials; --dry-run prints the
// plan without either. --cleanup-only removes what a run left (the nightly runs it always).
//   node dist/scripts/acceptance-vultr.js [--dry-run] [--cleanup-only] [--run-id ID]
//     [--config FILE] [--iso ID] [--base-iso PATH|URL] [--region ewr] [--plan vc2-1c-2gb]
//     [--out DIR] [--no-ipv6-check] [--poll-interval SECONDS]   (--help)
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { loadConfig } from '../src/config/load.js';
import { readSettings } from '../src/config/settings.js';
import { isOurIsoFileName } from '../src/iso/output-name.js';
import { hasPublicIpv6Route } from '../src/net/ipv6-reach.js';
import { CLI_COMMAND, PROJECT_ROOT } from '../src/paths.js';
import { vultrClient, VultrApiError, type VultrClient } from '../src/systems/vultr-api.js';
import { checkAcceptanceSlot, freeAcceptanceSlot, type SlotRules } from './acceptance-room.js';
import { privateDir, throwawayKey, type PrivateDir } from './acceptance/private-dir.js';
import { acceptanceNetwork, checkPublicContainer } from './acceptance/public-container.js';
import { fromHere, sshAccess, waitForLogin } from './acceptance/ssh-access.js';
import { parseScriptArgs, scriptCommand } from './script-cli.js';

const CLI = join(PROJECT_ROOT, 'dist/src/bin.js');

const args = parseScriptArgs(
  scriptCommand('acceptance-vultr', 'The whole product on a real, billed Vultr account: build, publish, create a VM, reach a container over IPv6, delete everything. Needs VULTR_ACCEPTANCE=1 and credentials, except with --dry-run.')
    .option('--dry-run', 'print the plan; needs neither VULTR_ACCEPTANCE nor credentials')
    .option('--cleanup-only', 'only delete the VMs tagged with this --run-id and the acceptance ISOs, then check none is left')
    .option('--run-id <id>', 'the run\'s id, in its VMs\' tag vsi-acceptance-<id> (default: the time and the process id)')
    .option('--config <file>', 'the config to build, under its own name prefix', 'iso.config.yaml')
    .option('--iso <id>', 'test this ISO, already in the library (the one publish made), instead of building and publishing one')
    .option('--base-iso <path|url>', 'base image (default: the config\'s base.url, verified)')
    .option('--region <id>', 'Vultr region', 'ewr')
    .option('--plan <id>', 'Vultr plan', 'vc2-1c-2gb')
    .option('--out <dir>', 'where traces and logs go (default: iso/acceptance/<run id>)')
    .option('--no-ipv6-check', 'skip reaching the container over IPv6 from here (a machine without IPv6)')
    .option('--poll-interval <seconds>', 'seconds between status checks (publish, vm create, clean-up)', '10'),
).opts();
/** Seconds between status checks, passed to publish and vm create and used by the clean-up. */
const pollSeconds = Number(args.pollInterval);

const runId = args.runId ?? `${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${process.pid}`;
/** Every VM of the run carries this tag; clean-up goes by it. */
const RUN_TAG = `vsi-acceptance-${runId}`.slice(0, 64);
const out = resolve(args.out ?? join(PROJECT_ROOT, 'iso/acceptance', runId));

const say = (line: string) => console.error(`acceptance: ${line}`);

function plan(prefix: string): string[] {
  const own = args.iso
    ? [`1. build: skipped (--iso ${args.iso}: the ISO publish made is tested)`, `2. publish: skipped; ISO ${args.iso} is used and left in the library`]
    : [
        `1. build: ${CLI_COMMAND} build --config <the config with name ${prefix}, publish.keep 1> ${args.baseIso ? `--base-iso ${args.baseIso}` : '(its base.url, verified)'}`,
        `2. publish: ${CLI_COMMAND} publish --trace publish.trace (room: its own older ISOs go; if the library is full, our oldest ISO is deleted first, saying which; it is checked before the build)`,
      ];
  return [
    `run ${runId}: ISOs named ${prefix}-*.iso, VMs tagged ${RUN_TAG}, traces and logs in ${out}`,
    ...own,
    `3. vm create: --iso ${args.iso ?? '<the new ISO>'} --region ${args.region} --plan ${args.plan} --tag ${RUN_TAG} --user-data <a throwaway SSH key> --trace vm.trace`,
    '4. ssh in as the admin: docker run a web server on the config\'s docker.network with a published port; its IPv6 address must be in the VM\'s /80',
    `5. from here: the container's address answers on the published port over IPv6${!args.ipv6Check ? ' (skipped: --no-ipv6-check; the VM itself fetches it instead)' : ''}`,
    `6. always: delete every VM tagged ${RUN_TAG} and every ${prefix}-*.iso (waiting out locks and detaches), then check none is left`,
  ];
}

/**
 * The acceptance run's own config: the given one under its own name prefix, keeping only its
 * newest ISO. Written to the private directory: a config may hold admin.passwordHash.
 */
async function acceptanceConfig(dir: string): Promise<{ path: string; prefix: string; basePrefix: string }> {
  const base = (yaml.load(await readFile(args.config, 'utf8')) ?? {}) as Record<string, Record<string, unknown> | string | undefined>;
  const basePrefix = String(base.name ?? 'vultr-sid');
  const prefix = `${basePrefix.slice(0, 35)}-acc`;
  const publish = (typeof base.publish === 'object' ? base.publish : {}) as Record<string, unknown>;
  const config = { ...base, name: prefix, publish: { ...publish, keep: 1 } };
  const path = join(dir, 'acceptance.config.yaml');
  await writeFile(path, yaml.dump(config), { mode: 0o600 });
  return { path, prefix, basePrefix };
}

async function cli(name: string, argv: string[]): Promise<unknown> {
  say(`vultr-sid-iso ${argv.join(' ')}`);
  const r = await execa(process.execPath, [CLI, ...argv, '--json'], { reject: false, stderr: ['pipe', 'inherit'] });
  await writeFile(join(out, `${name}.log`), String(r.stderr));
  if (r.exitCode !== 0) throw new Error(`${name} failed (exit ${r.exitCode}); see ${join(out, `${name}.log`)}`);
  return JSON.parse(String(r.stdout));
}

/** Deletes every VM tagged with the run and every ISO of the prefix; then checks none is left (ours decided here, from full lists). */
async function cleanUp(vultr: VultrClient, prefix: string): Promise<string[]> {
  const problems: string[] = [];
  for (const vm of await vultr.listTagged(RUN_TAG)) {
    say(`deleting VM ${vm.id}`);
    await vultr.whenUnlocked(vm.id, 'delete it', () => vultr.deleteInstance(vm.id), { intervalMs: pollSeconds * 1000, info: say }).catch((e: Error) => problems.push(`VM ${vm.id}: ${e.message}`));
  }
  // Vultr detaches a deleted instance's ISO a few seconds later
  // (vultr/terraform-provider-vultr#34).
  for (const iso of (await vultr.listIsos()).filter((i) => isOurIsoFileName(i.filename, prefix))) {
    say(`deleting ISO ${iso.filename}`);
    for (let attempt = 0; ; attempt++) {
      try {
        await vultr.deleteIso(iso.id);
        break;
      } catch (error) {
        if (!(error instanceof VultrApiError && /still attached/i.test(error.vultrError)) || attempt >= 30) {
          problems.push(`ISO ${iso.filename}: ${(error as Error).message}`);
          break;
        }
        await new Promise((r) => setTimeout(r, pollSeconds * 1000));
      }
    }
  }
  const vmsLeft = await vultr.listTagged(RUN_TAG);
  const isosLeft = (await vultr.listIsos()).filter((i) => isOurIsoFileName(i.filename, prefix));
  if (vmsLeft.length || isosLeft.length) problems.push(`left behind: ${[...vmsLeft.map((v) => `VM ${v.id}`), ...isosLeft.map((i) => `ISO ${i.filename}`)].join(', ')}`);
  return problems;
}

/** The run's own ISO: room checked before the build and made right before the publish. */
async function buildAndPublish(vultr: VultrClient, config: string, rules: SlotRules, poll: string[]): Promise<string> {
  say(await checkAcceptanceSlot(vultr, rules));
  const manifest = (await cli('build', ['build', '--config', config, ...(args.baseIso ? ['--base-iso', args.baseIso] : [])])) as { iso: { path: string } };
  await freeAcceptanceSlot(vultr, rules, say);
  const published = (await cli('publish', ['publish', '--config', config, '--manifest', manifest.iso.path.replace(/\.iso$/, '.json'), '--trace', join(out, 'publish.trace'), ...poll])) as { isoId: string };
  return published.isoId;
}

/** The flags' own faults, found before anything else is done. */
function badFlag(): string | undefined {
  if (!(pollSeconds > 0)) return `--poll-interval ${args.pollInterval} is not a positive number; pass seconds, e.g. --poll-interval 10`;
  if (args.iso !== undefined && !/^[\w-]+$/.test(args.iso)) return `--iso ${args.iso} is not a Vultr ISO id; pass the vultr-iso-id that publish printed`;
  return undefined;
}

/** --iso must name an ISO in the library that Vultr has finished downloading. */
async function usableIso(vultr: VultrClient, id: string): Promise<string | undefined> {
  try {
    const iso = await vultr.getIso(id);
    return iso.status === 'complete' ? undefined : `--iso ${id} (${iso.filename}) is ${iso.status}, not complete; wait for publish to finish, then run again`;
  } catch (error) {
    if (error instanceof VultrApiError && error.status === 404) return `--iso ${id} is not in the Vultr ISO library; pass the vultr-iso-id that publish printed`;
    throw error;
  }
}

async function main(): Promise<number> {
  const bad = badFlag();
  if (bad) {
    say(bad);
    return 2;
  }
  if (args.dryRun) {
    console.log(plan('<config name>-acc').join('\n'));
    return 0;
  }
  const settings = readSettings(process.env);
  const missing = [
    process.env.VULTR_ACCEPTANCE === '1' ? undefined : 'VULTR_ACCEPTANCE=1',
    settings.vultr.apiKey ? undefined : 'VULTR_API_KEY',
    settings.s3.accessKeyId && settings.s3.secretAccessKey ? undefined : 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
  ].filter(Boolean);
  if (missing.length) {
    say(`refusing to run: it creates billed resources on a real Vultr account; set ${missing.join(', ')} (see docs/publishing.md, "Acceptance run"), or pass --dry-run to see the plan`);
    return 2;
  }
  if (args.ipv6Check && !args.cleanupOnly && !(await hasPublicIpv6Route())) {
    say('this machine has no IPv6 default route, so it cannot reach the container from here; run it on a host with IPv6, or pass --no-ipv6-check (the VM then fetches the container\'s address itself)');
    return 2;
  }
  await mkdir(out, { recursive: true });
  const secret = await privateDir();
  const vultr = vultrClient(settings, new AbortController().signal);
  try {
    return await acceptance(vultr, secret, settings);
  } finally {
    secret.remove();
  }
}

/** Cut short: what must not outlive the run goes now; what the run made is named with the command that removes it. */
function onSignal(secret: PrivateDir): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      secret.remove();
      say(`${signal}: stopped; the throwaway key is deleted; delete what the run made with: node dist/scripts/acceptance-vultr.js --cleanup-only --run-id ${runId}`);
      process.exit(code);
    });
  }
}

async function acceptance(vultr: VultrClient, secret: PrivateDir, settings: ReturnType<typeof readSettings>): Promise<number> {
  const { path: config, prefix, basePrefix } = await acceptanceConfig(secret.path);
  const poll = ['--poll-interval', String(pollSeconds)];
  if (args.cleanupOnly) {
    const problems = await cleanUp(vultr, prefix);
    for (const p of problems) say(p);
    return problems.length ? 1 : 0;
  }
  const unusable = args.iso === undefined ? undefined : await usableIso(vultr, args.iso);
  if (unusable) {
    say(unusable);
    return 2;
  }
  onSignal(secret);
  for (const line of plan(prefix)) say(line);
  const failures: string[] = [];
  try {
    const { key, publicKey } = await throwawayKey(secret.path, RUN_TAG);
    const userData = join(secret.path, 'user-data');
    await writeFile(userData, `#cloud-config\nssh_authorized_keys:\n  - ${publicKey}\n`, { mode: 0o600 });
    const loaded = await loadConfig(config, settings.secrets);
    const isoId = args.iso ?? (await buildAndPublish(vultr, config, { prefix: basePrefix, accPrefix: prefix, capacity: loaded.publish.librarySize }, poll));
    const vm = (await cli('vm-create', ['vm', 'create', '--config', config, '--iso', isoId, '--region', args.region, '--plan', args.plan, '--tag', RUN_TAG, '--user-data', userData, '--trace', join(out, 'vm.trace'), ...poll])) as {
      mainIp: string;
      containerPrefix: string | null;
      installSeconds: number;
    };
    say(`installed in ${(vm.installSeconds / 60).toFixed(1)} min; containers get ${vm.containerPrefix}`);
    const access = sshAccess(key, vm.mainIp, loaded.admin.username);
    const login = await waitForLogin(access, 6, pollSeconds * 1000);
    if (login.exitCode !== 0) throw new Error(`ssh ${loaded.admin.username}@${vm.mainIp} with the run's key failed (exit ${login.exitCode}): ${login.stderr.trim().slice(-300)}`);
    say(`logged in as ${loaded.admin.username}`);
    // The same check the lab test runs on its VM; without IPv6 here, the VM fetches the address itself.
    const report = await checkPublicContainer(
      { ...access, ...(args.ipv6Check ? { fromOutside: fromHere } : {}) },
      { image: 'busybox', network: acceptanceNetwork(loaded.docker), containerPrefix: vm.containerPrefix ?? '' },
      say,
    );
    failures.push(...report.failures);
  } catch (error) {
    failures.push((error as Error).message);
  } finally {
    failures.push(...(await cleanUp(vultr, prefix)));
  }
  for (const f of failures) say(`FAILED: ${f}`);
  say(`${failures.length ? 'failed' : 'passed'}; traces and logs in ${out}`);
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
