// Every container reachable, at the scale users run: many containers started at once, as
// the router sees them. Shared by the lab test and the nightly's install gate, like
// installed-checks.ts, whose Target and SSH helpers it uses.
import { join } from 'node:path';
import { contains, formatIPv6, parseIPv6, parsePrefix } from '../../src/net/ipv6.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { shellWord } from '../../src/render/handlebars-env.js';
import { check, onVm, sudo, type Target } from './installed-checks.js';
import { captureNdp, type NdpTally } from './ndp-capture.js';

export interface Reached {
  name: string;
  address: string;
  /** Seconds from the container's start (Docker's start event) to the router's first answered ping (0: before it); null: none in time. */
  ping: number | null;
  /** Seconds from the start to the first answer on its published port 80. */
  port: number | null;
  /** Seconds from the batch's docker command to this container's start event. */
  started: number;
}

const PROBER = join(PROJECT_ROOT, 'scripts/lab/reach-prober.py');

/** The addresses inside the /80 of the containers NAMES (all when none are named): name → address. */
async function addressesOf(t: Target, names?: string[]): Promise<Map<string, string>> {
  const prefix = parsePrefix(t.expectedPrefix)!;
  const which = names?.length ? names.join(' ') : '$(docker ps -q)';
  const r = await onVm(t, `sudo sh -c 'ids="${which}"; [ -z "$ids" ] || docker inspect -f "{{.Name}} {{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}} {{end}}" $ids'`);
  const found = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const [name = '', ...addresses] = line.trim().split(/\s+/);
    const address = addresses.find((a) => parseIPv6(a) !== undefined && contains(prefix, parseIPv6(a)!));
    if (name && address) found.set(name.replace(/^\//, ''), formatIPv6(parseIPv6(address)!));
  }
  return found;
}

/**
 * The order to start stopped containers in so that each comes back on another's address:
 * Docker hands a starting container the lowest free address of the network, so the holder of
 * the highest goes first (it takes the lowest), then the others from the lowest up (each
 * takes the next). Were Docker to allocate otherwise, the containers would still start;
 * `restarted:` in the log shows where each went.
 */
function movingOrder(names: string[], holding: Map<string, string>): string[] {
  const byAddress = [...names].sort((a, b) => Number((parseIPv6(holding.get(a) ?? '') ?? 0n) - (parseIPv6(holding.get(b) ?? '') ?? 0n)));
  return byAddress.length > 1 ? [byAddress.at(-1)!, ...byAddress.slice(0, -1)] : byAddress;
}

/** The first time in `times` after `after` (both this host's clock, ms), or null. */
const firstAfter = (times: number[], after: number): number | null => times.find((at) => at > after) ?? null;

/**
 * Starts the containers NAMES at once (`run`: new ones on NETWORK, each serving port 80 and
 * publishing it; `restart`: existing ones, stopped together and started one by one in an order
 * that moves each to another's address, see movingOrder), and
 * measures from the router how many seconds after Docker's `start` event (when `docker run`
 * returns) each one answered ping and its published port; 0 when it answered before it.
 *
 * How, so that the machine's load cannot lengthen what is measured: a prober in the router's
 * namespace (reach-prober.py) pings every address the containers can get, free ones too, from
 * before the first start, and records each answer on this host's clock; the VM streams
 * Docker's start and die events, with its clock, over one SSH session (the offset between the
 * clocks is taken from that stream, whose lines take milliseconds). An address answers for a
 * container from the moment after the last container that held it died.
 */
export async function startAndReach(t: Target, names: string[], how: 'run' | 'restart', options: { network: string; giveUpSeconds: number }): Promise<Reached[]> {
  const prefix = parsePrefix(t.expectedPrefix)!;
  const before = await addressesOf(t);
  const highest = Math.max(1, ...[...before.values()].map((a) => Number(parseIPv6(a)! - prefix.network)));
  // Free addresses and those of the containers started: the others' are taken, and probing
  // them would only load the VM.
  const others = new Set([...before].filter(([name]) => !names.includes(name)).map(([, address]) => address));
  const candidates = Array.from({ length: highest + names.length + 8 - 1 }, (_, i) => formatIPv6(prefix.network + BigInt(i + 2))).filter((a) => !others.has(a));
  // Each batch starts with the router knowing none of the VM's neighbours, as after its
  // entries expire: an address a restarted container takes over was known from its last
  // holder, and the batch would otherwise not need NDP to answer for it at all.
  await t.lab.router(['ip', '-6', 'neigh', 'flush', 'dev', 'br0']);
  const prober = t.lab.router(['python3', PROBER, '--interval', '0.2', '--port', '80', ...candidates], { reject: false, timeout: 30 * 60_000 });
  // The first answers after silence, as they come: when all the containers have answered on
  // their published port, there is nothing left to wait for.
  const portUp = new Map<string, number[]>();
  await new Promise<void>((resolve, reject) => {
    let pending = '';
    prober.stdout?.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const [what = '', address = '', at = ''] = line.split(' ');
        if (what === 'probing') resolve();
        if (what === 'port') portUp.set(address, [...(portUp.get(address) ?? []), Number(at) * 1000]);
      }
    });
    prober.then((r) => reject(new Error(`the prober ended before it started: ${r.stderr}`)), reject);
  });

  const vmEvents = new Map<string, { start?: number; die?: number }>();
  let offsetMs = Infinity;
  // Events since before the first clock line, which the starts wait for: `docker events`
  // itself may subscribe only after they began (it takes seconds under TCG), and --since
  // replays what it would have missed.
  const watch = [
    'since=$(date +%s.%N);',
    '(while :; do echo "clock $(date +%s%N)"; sleep 0.5; done) &',
    `docker events --since "$since" --filter type=container --filter event=start --filter event=die --format '{{.Action}} {{.Actor.Attributes.name}} {{.TimeNano}}'`,
  ].join(' ');
  const watcher = t.vm.ssh(t.key, t.admin, `sudo sh -c ${shellWord(watch)}`, { timeoutMs: 30 * 60_000 });
  const clocked = new Promise<void>((resolve) => {
    let pending = '';
    watcher.stdout?.on('data', (chunk: Buffer) => {
      const arrived = Date.now();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const words = line.trim().split(' ');
        if (words[0] === 'clock') {
          offsetMs = Math.min(offsetMs, arrived - Number(BigInt(words[1]!) / 1_000_000n));
          resolve();
        } else if (words[0] === 'start' || words[0] === 'die') {
          const event = vmEvents.get(words[1]!) ?? {};
          event[words[0]] = Number(BigInt(words[2]!) / 1_000_000n);
          vmEvents.set(words[1]!, event);
        }
      }
    });
  });
  let after = new Map<string, string>();
  let issuedAt = 0;
  /** When an address answers for a container: after the last container that held it died (this one itself, before a restart). */
  const freedAt = (name: string, address: string) => {
    const holders = [name, ...[...before].filter(([, a]) => a === address).map(([n]) => n)];
    return Math.max(-Infinity, ...holders.map((n) => (vmEvents.get(n)?.die ?? -Infinity) + offsetMs));
  };
  try {
    await clocked;
    const start = how === 'run'
      ? `${names.map((n) => `docker run -d --name ${n} --network ${options.network} -p 80 lab/busybox sh -c 'exec httpd -f -p 80 -h /www' >/dev/null &`).join(' ')} wait`
      : `docker stop -t 1 ${names.join(' ')} >/dev/null && ${movingOrder(names, before).map((n) => `docker start ${n} >/dev/null`).join(' && ')}`;
    issuedAt = Date.now();
    await sudo(t, start);
    after = await addressesOf(t, names);
    const missing = names.filter((n) => !after.has(n));
    check(missing.length === 0, `no address in ${t.expectedPrefix} for ${missing.join(', ')} after docker ${how} (is the name taken, or the container not running?)`);
    // Until every start has been seen, and every container has answered or had its time to.
    for (const deadline = Date.now() + 5 * 60_000; ; ) {
      const starts = names.map((n) => vmEvents.get(n)?.start);
      if (starts.every((s) => s !== undefined)) {
        const allAnswered = names.every((n) => (portUp.get(after.get(n) ?? '') ?? []).some((at) => at > freedAt(n, after.get(n)!)));
        if (allAnswered || Date.now() > Math.max(...(starts as number[])) + offsetMs + options.giveUpSeconds * 1000) break;
      }
      if (Date.now() > deadline) throw new Error(`the VM reported no start for ${names.filter((n) => vmEvents.get(n)?.start === undefined).join(', ')} within 5 minutes`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    watcher.kill();
    await watcher.catch(() => undefined);
    prober.kill('SIGTERM');
  }
  const seen = JSON.parse((await prober).stdout.split('\n').find((l) => l.startsWith('{')) ?? '{}') as Record<string, { ping: number[]; port: number[] }>;
  const reached = names.map((name) => {
    const address = after.get(name) ?? '';
    const startedAt = vmEvents.get(name)!.start! + offsetMs;
    const answered = (times: number[] = []) => {
      const at = firstAfter(times.map((s) => s * 1000), freedAt(name, address));
      return at === null || at > startedAt + options.giveUpSeconds * 1000 ? null : Math.max(0, (at - startedAt) / 1000);
    };
    return { name, address, ping: answered(seen[address]?.ping), port: answered(seen[address]?.port), started: Math.max(0, (startedAt - issuedAt) / 1000) };
  });
  return reached;
}

/**
 * One line per batch: how many answered within `limit` seconds of their start, the slowest,
 * and how fast Docker started them (containers a second, from the batch's docker command to
 * the last start: what bounds how many a second become reachable).
 */
export function describeBatch(label: string, reached: Reached[], limit: number): string {
  const within = reached.filter((r) => answeredWithin(r, limit));
  const slowest = Math.max(...reached.map((r) => Math.max(r.ping ?? Infinity, r.port ?? Infinity)));
  const lastStart = Math.max(...reached.map((r) => r.started));
  return `${label}: ${within.length} of ${reached.length} answered the router's ping and their published port within ${limit} s of starting (slowest: ${Number.isFinite(slowest) ? `${slowest.toFixed(1)} s` : 'not within the wait'}); Docker started them in ${lastStart.toFixed(0)} s (${(reached.length / Math.max(lastStart, 0.1)).toFixed(2)} a second)`;
}

export const answeredWithin = (r: Reached, limit: number): boolean => r.ping !== null && r.port !== null && r.ping <= limit && r.port <= limit;

/** Every running container's address in the /80 has a kernel proxy entry on the uplink (vultr-sid-ndp-proxy), and no other address does; waits for it to catch up. */
export async function proxyEntriesInStep(t: Target, timeoutMs: number): Promise<string> {
  const prefix = parsePrefix(t.expectedPrefix)!;
  const inPrefix = (text: string) => new Set(text.split(/\s+/).filter((a) => parseIPv6(a) !== undefined && contains(prefix, parseIPv6(a)!)).map((a) => String(parseIPv6(a))));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await onVm(t, "sudo sh -c 'ids=$(docker ps -q); [ -z \"$ids\" ] || docker inspect -f \"{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}} {{end}}\" $ids; echo ---; ip -6 neigh show proxy dev enp1s0'");
    const [running = '', proxied = ''] = r.stdout.split(/^---$/m);
    const want = inPrefix(running);
    const have = inPrefix(proxied.replace(/\bproxy\b/g, ''));
    const missing = [...want].filter((a) => !have.has(a));
    const extra = [...have].filter((a) => !want.has(a));
    if (missing.length === 0 && extra.length === 0) return `the kernel answers unicast probes for all ${want.size} running container addresses (proxy entries on enp1s0), no others`;
    check(Date.now() < deadline, `proxy entries not in step with the running containers after ${timeoutMs / 1000} s: ${missing.length} missing, ${extra.length} left over`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

/**
 * SECONDS of pings from the router at 5 a second to each address, with the router's
 * neighbour entries aging within a second and a half (base_reachable_time_ms 1000,
 * delay_first_probe_time 1: STALE, DELAY, then unicast probes), as Vultr's router would check
 * them over hours. Returns the replies missed and the router's solicitations and answers.
 */
export async function pingUnderNud(t: Target, addresses: string[], seconds: number): Promise<{ lost: number; sent: number; tally: NdpTally }> {
  const setting = (key: string, value: string) => t.lab.router(['sysctl', '-qw', `net.ipv6.neigh.br0.${key}=${value}`]);
  await setting('base_reachable_time_ms', '1000');
  await setting('delay_first_probe_time', '1');
  // An entry confirmed before the change keeps the reachable time it was confirmed with (15 to
  // 45 s of the default 30): it could outlast a short run without one probe. Looked up again,
  // each starts under the new one.
  for (const a of addresses) await t.lab.router(['ip', '-6', 'neigh', 'flush', 'to', a, 'dev', 'br0']);
  try {
    const capture = await captureNdp(t.lab.ns, 'br0');
    // Five a second for SECONDS; a reply that comes late (a VM busy with other work) still
    // counts: only one that never comes within 5 s after the last ping is lost.
    const count = String(seconds * 5);
    const runs = await Promise.all(addresses.map((a) => t.lab.router(['busybox', 'ping', '-6', '-q', '-i', '0.2', '-c', count, '-W', '5', a], { reject: false, timeout: (seconds + 60) * 1000 })));
    const tally = await capture.stop(addresses);
    let sent = 0;
    let lost = 0;
    for (const r of runs) {
      const m = /(\d+) packets transmitted, (\d+) packets received/.exec(r.stdout);
      check(m !== null, `busybox ping printed no summary: ${r.stdout.trim()} ${r.stderr.trim()}`);
      sent += Number(m[1]);
      lost += Number(m[1]) - Number(m[2]);
    }
    return { lost, sent, tally };
  } finally {
    await setting('base_reachable_time_ms', '30000');
    await setting('delay_first_probe_time', '5');
  }
}

/**
 * Runs `during` with the VM's NDP as this project had it before: ndppd with the rule `auto`
 * and no kernel proxy entries (vultr-sid-ndp-proxy stopped, its entries removed); then puts
 * back what the boot program writes.
 */
export async function withOldAutoNdppd<T>(t: Target, during: () => Promise<T>): Promise<T> {
  await sudo(t, [
    'systemctl stop vultr-sid-ndp-proxy.service',
    "ip -6 neigh show proxy dev enp1s0 | awk '{print $1}' | xargs -r -n1 -I{} ip -6 neigh del proxy {} dev enp1s0",
    'sed -i "s/^\\( *\\)static$/\\1auto/" /etc/ndppd.conf',
    'grep -q "^ *auto$" /etc/ndppd.conf',
    'systemctl restart ndppd.service',
  ].join(' && '));
  await t.lab.router(['ip', '-6', 'neigh', 'flush', 'dev', 'br0']);
  try {
    return await during();
  } finally {
    // The boot program rewrites its ndppd.conf (and restarts ndppd); the proxy entries' keeper starts again.
    await sudo(t, 'systemctl restart vultr-sid-ipv6.service && systemctl start vultr-sid-ndp-proxy.service && grep -q "^ *static$" /etc/ndppd.conf');
  }
}
