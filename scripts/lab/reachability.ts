// Every container reachable, at the scale users run: many containers started at once, as
// the router sees them. Shared by the lab test and the nightly's install gate, like
// installed-checks.ts, whose Target and SSH helpers it uses.
import { contains, parseIPv6, parsePrefix } from '../../src/net/ipv6.js';
import { shellWord } from '../../src/render/handlebars-env.js';
import { check, onVm, sudo, type Target } from './installed-checks.js';
import { captureNdp, type NdpTally } from './ndp-capture.js';

export interface Reached {
  name: string;
  address: string;
  /** Seconds from the container's start (Docker's event) to the router's first answered ping; null: none in time. */
  ping: number | null;
  /** Seconds from the start to the first answer on its published port 80. */
  port: number | null;
}

/** How far the VM's clock is behind this host's, in ms (the reading with the shortest round trip of three). */
async function clockOffset(t: Target): Promise<{ offsetMs: number; errorMs: number }> {
  let best = { offsetMs: 0, errorMs: Infinity };
  for (let i = 0; i < 3; i++) {
    const before = Date.now();
    const r = await onVm(t, 'date +%s%N');
    const after = Date.now();
    const vmMs = Number(BigInt(r.stdout.trim()) / 1_000_000n);
    if ((after - before) / 2 < best.errorMs) best = { offsetMs: (before + after) / 2 - vmMs, errorMs: (after - before) / 2 };
  }
  return best;
}

/** Tries `probe` until it succeeds or `deadline` passes; the host time it first succeeded, or null. */
async function firstSuccess(probe: () => Promise<boolean>, deadline: number): Promise<number | null> {
  while (Date.now() < deadline) {
    if (await probe()) return Date.now();
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

/**
 * Starts the containers NAMES at once (`run`: new ones on NETWORK, each serving port 80 and
 * publishing it; `restart`: existing ones, which then get new addresses), and measures from the
 * router how many seconds after its start each one answered ping and its published port.
 * The VM reports each start, with the container's address, through `docker events` as it
 * happens; the router starts pinging as soon as it knows the address, and gives up
 * `giveUpSeconds` after the start. Busybox ping, like the forwarded traffic of a real router,
 * does not confirm the router's neighbour entries (iputils ping sends with MSG_CONFIRM).
 */
export async function startAndReach(t: Target, names: string[], how: 'run' | 'restart', options: { network: string; giveUpSeconds: number }): Promise<{ reached: Reached[]; clockErrorMs: number }> {
  const prefix = parsePrefix(t.expectedPrefix)!;
  const { offsetMs, errorMs } = await clockOffset(t);
  const sinceVm = Math.floor((Date.now() - offsetMs) / 1000) - 1;
  // Replayed from before the first start (--since), so no start is missed while it subscribes.
  const watch = [
    `docker events --since ${sinceVm} --filter type=container --filter event=start --format '{{.Actor.Attributes.name}} {{.TimeNano}}'`,
    `| while read -r name at; do ( printf '%s %s %s\\n' "$name" "$at" "$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}} {{end}}' "$name")" ) & done`,
  ].join(' ');
  const watcher = t.vm.ssh(t.key, t.admin, `sudo sh -c ${shellWord(watch)}`, { timeoutMs: 20 * 60_000 });
  const wanted = new Set(names);
  const probes: Promise<Reached>[] = [];
  const allSeen = new Promise<void>((resolve) => {
    let pending = '';
    watcher.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const [name = '', at = '', ...addresses] = line.trim().split(/\s+/);
        if (!wanted.delete(name)) continue;
        const address = addresses.find((a) => parseIPv6(a) !== undefined && contains(prefix, parseIPv6(a)!)) ?? '';
        probes.push(reach(t, name, address, Number(BigInt(at) / 1_000_000n) + offsetMs, options.giveUpSeconds));
        if (wanted.size === 0) resolve();
      }
    });
  });
  try {
    const start = how === 'run'
      ? names.map((n) => `docker run -d --name ${n} --network ${options.network} -p 80 lab/busybox sh -c 'exec httpd -f -p 80 -h /www' >/dev/null &`)
      : names.map((n) => `docker restart -t 1 ${n} >/dev/null &`);
    await sudo(t, `${start.join(' ')} wait`);
    await Promise.race([allSeen, new Promise((_, reject) => setTimeout(() => reject(new Error(`the VM reported no start for ${[...wanted].join(', ')} within 5 minutes`)), 5 * 60_000))]);
    return { reached: await Promise.all(probes), clockErrorMs: errorMs };
  } finally {
    watcher.kill();
    await watcher.catch(() => undefined);
  }
}

async function reach(t: Target, name: string, address: string, startedAt: number, giveUpSeconds: number): Promise<Reached> {
  if (!address) return { name, address, ping: null, port: null };
  const deadline = startedAt + giveUpSeconds * 1000;
  const pinged = await firstSuccess(async () => (await t.lab.router(['busybox', 'ping', '-6', '-c', '1', '-W', '1', address], { reject: false })).exitCode === 0, deadline);
  const served = pinged === null ? null : await firstSuccess(async () => (await t.lab.router(['curl', '-g', '-fsS', '-o', '/dev/null', '--max-time', '1', `http://[${address}]:80/`], { reject: false })).exitCode === 0, deadline);
  const seconds = (at: number | null) => (at === null ? null : Math.max(0, (at - startedAt) / 1000));
  return { name, address, ping: seconds(pinged), port: seconds(served) };
}

/** One line per batch: how many answered within `limit` seconds, and the slowest. */
export function describeBatch(label: string, reached: Reached[], limit: number, clockErrorMs: number): string {
  const within = reached.filter((r) => r.ping !== null && r.port !== null && r.ping <= limit && r.port <= limit);
  const slowest = Math.max(...reached.map((r) => r.port ?? Infinity));
  return `${label}: ${within.length} of ${reached.length} answered ping and their published port within ${limit} s of starting (slowest ${Number.isFinite(slowest) ? `${slowest.toFixed(1)} s` : 'never'}; clock ±${(clockErrorMs / 1000).toFixed(2)} s)`;
}

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
  try {
    const capture = await captureNdp(t.lab.ns, 'br0');
    const runs = await Promise.all(addresses.map((a) => t.lab.router(['busybox', 'ping', '-6', '-q', '-i', '0.2', '-w', String(seconds), a], { reject: false, timeout: (seconds + 60) * 1000 })));
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
