// The nightly install gate's checks of an installed system: the half of scripts/install-check.ts
// after d-i has installed and the admin has logged in. One list, which install-check runs on
// what d-i really installed and the lab test (test/system/ipv6-only-instance) runs on the lab's
// sid disk, so that the gate's own code has run before a nightly depends on it.
import { acceptanceNetwork } from '../acceptance/public-container.js';
import * as checks from './installed-checks.js';
import * as reach from './reachability.js';
import { NETWORK_64 } from './vultr-lab.js';
import { labContainerPrefix } from './vultr-metadata.js';

export interface GateStep {
  name: string;
  run: () => Promise<string>;
}

export interface GateResult {
  name: string;
  ok: boolean;
  /** What the check saw, or the first line of why it failed. */
  detail: string;
}

/** How many containers the every-container check starts at once, and how long it pings them under NUD. */
export interface GateScale {
  containers: number;
  nudSeconds: number;
}

/** The nightly's: as many containers as the lab's every-container stage starts in a batch. */
export const NIGHTLY_SCALE: GateScale = { containers: 10, nudSeconds: 30 };

/**
 * The gate's steps for the VM in TARGET, booted as INSTANCEID on the lab's /64 NETWORK64. Reads
 * the installed config (/etc/vultr-sid-iso/ipv6.json) first, and sets target.expectedPrefix
 * to the /80 the CLI computes for that /64 and the config's subnet. SCALE: the nightly's, or
 * a smaller one where the same code runs beside the lab's own every-container stage.
 */
export async function gateSteps(target: checks.Target, instanceId: string, network64 = NETWORK_64, scale: GateScale = NIGHTLY_SCALE): Promise<GateStep[]> {
  const config = await checks.installedConfig(target);
  target.expectedPrefix = labContainerPrefix(config.docker.subnet, network64);
  // Where a container gets the /80: the config's network, or the default bridge under all-ports.
  const network = acceptanceNetwork(config.docker);
  const published = network !== undefined;
  return [
    { name: 'install: every part done (vultr-sid-status)', run: () => checks.installComplete(target) },
    { name: "network: the installer's configuration is one vultr-sid-ipv6 supports", run: () => checks.networkConfigSupported(target) },
    { name: 'consoles: the screen is the main console, the serial line a console too', run: () => checks.consolesOnScreen(target) },
    { name: 'cloud-init: Vultr datasource, no errors, vendor-data ignored', run: () => checks.cloudInitClean(target, instanceId) },
    { name: 'logins: metadata key as the admin; no password, no root', run: () => checks.loginsAsExpected(target) },
    { name: 'IPv6: the /80, ndppd, accept_ra=2 with an RA default route', run: () => checks.ipv6Ready(target, 'metadata') },
    {
      name: 'a container: ping and published port from outside; unpublished port as configured',
      run: async () => {
        await checks.importBusybox(target);
        const address = await checks.runContainer(target, 'web', network);
        return `${await checks.exposure(target, address, published ? 'closed' : 'open')}; ${await checks.outgoingFromOwnAddress(target, 'web', address)}`;
      },
    },
    { name: 'containers cannot reach the metadata service', run: () => checks.metadataGuarded(target, 'web') },
    {
      name: `every container: ${scale.containers} started at once each answer the router within 5 s; the kernel answers its unicast probes`,
      run: async () => {
        const names = gateContainers(scale);
        const reached = await reach.startAndReach(target, names, 'run', { network: network ?? 'bridge', giveUpSeconds: 10 });
        const line = reach.describeBatch(`${names.length} at once`, reached, 5);
        if (!reached.every((r) => reach.answeredWithin(r, 5))) throw new checks.CheckFailed(line);
        const nud = await reach.pingUnderNud(target, reached.slice(0, 3).map((r) => r.address), scale.nudSeconds);
        if (nud.lost > 0 || nud.tally.unicast === 0 || nud.tally.unicastAnswered < nud.tally.unicast) throw new checks.CheckFailed(`under the router's neighbour checks: ${JSON.stringify(nud)}`);
        return `${line}; ${await reach.proxyEntriesInStep(target, 60_000)}; ${scale.nudSeconds} s under NUD: 0 of ${nud.sent} lost, unicast probes ${nud.tally.unicastAnswered}/${nud.tally.unicast}`;
      },
    },
    { name: "ndppd sandboxed; IPv6 forwarded only to and from Docker's bridges", run: async () => `${await checks.ndppdSandboxed(target)}; ${await checks.forwardingOnlyDocker(target)}` },
  ];
}

/** The names of the containers the every-container check starts (and the gate's first container is 'web'). */
export function gateContainers(scale: GateScale = NIGHTLY_SCALE): string[] {
  return Array.from({ length: scale.containers }, (_, i) => `many${i + 1}`);
}

/** Runs every step, a failed one not stopping the others; LOG gets one PASS or FAIL line each. */
export async function runGate(steps: GateStep[], log: (line: string) => void): Promise<GateResult[]> {
  const results: GateResult[] = [];
  for (const { name, run } of steps) {
    const started = Date.now();
    const took = () => `(${((Date.now() - started) / 1000).toFixed(0)} s)`;
    try {
      const detail = await run();
      results.push({ name, ok: true, detail });
      log(`PASS ${name} ${took()}: ${detail}`);
    } catch (error) {
      const message = (error as Error).message;
      results.push({ name, ok: false, detail: message.split('\n')[0]! });
      log(`FAIL ${name} ${took()}: ${message}`);
    }
  }
  return results;
}

/** The results as the rows of the job summary's Markdown table. */
export function gateRows(results: GateResult[]): string[] {
  return results.map((r) => `| ${r.ok ? '✅' : '❌'} | ${r.name} | ${r.detail.replaceAll('|', '\\|')} |`);
}
