// Neighbour discovery as the router sees it: tcpdump on the router's side of the link, read
// into solicitations and advertisements, to tell whether each of the router's solicitations
// for a container address was answered. A router looks an address up with a multicast
// solicitation, and checks an entry it already has with unicast ones (RFC 4861 7.3.3, PROBE),
// which Debian's ndppd 0.2.5 never answers. Used by the lab (installed-checks.ts) and by the
// namespace tests of the boot program.
import { execa, type ResultPromise } from 'execa';
import { formatIPv6, parseIPv6 } from '../../src/net/ipv6.js';

export interface NdpTally {
  /** Solicitations sent to the solicited-node multicast group (a lookup). */
  multicast: number;
  multicastAnswered: number;
  /** Solicitations sent to the address itself (a reachability probe). */
  unicast: number;
  unicastAnswered: number;
}

export interface NdpCapture {
  /** Stops tcpdump and counts the solicitations for `targets` and their answers. */
  stop(targets: Iterable<string>): Promise<NdpTally>;
}

/** tcpdump in network namespace `ns` on `iface`, for neighbour solicitations and advertisements only; resolves once it listens. */
export async function captureNdp(ns: string, iface: string): Promise<NdpCapture> {
  // ICMPv6 types 135 (solicitation) and 136 (advertisement), with no extension header.
  const child: ResultPromise = execa('ip', ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-n', '-l', '-tt', 'icmp6 and (ip6[40] == 135 or ip6[40] == 136)'], { reject: false, buffer: true });
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
    child.then((r) => reject(new Error(`tcpdump ended before it listened: ${String(r.stderr).trim()}`)), reject);
  });
  return {
    async stop(targets) {
      child.kill('SIGINT');
      const r = await child;
      return tallyNdp(String(r.stdout).split('\n'), targets);
    },
  };
}

interface NdpPacket {
  kind: 'solicitation' | 'advertisement';
  target: string;
  multicast: boolean;
}

function parseLine(line: string): NdpPacket | undefined {
  const m = /^\d+\.\d+ IP6 (\S+) > (\S+): ICMP6, neighbor (solicitation, who has|advertisement, tgt is) ([0-9a-f:]+),/.exec(line);
  if (!m) return undefined;
  return { kind: m[3]!.startsWith('solicitation') ? 'solicitation' : 'advertisement', target: canonical(m[4]!), multicast: m[2]!.startsWith('ff02:') };
}

/**
 * A solicitation counts as answered when an advertisement for its target comes before the next
 * solicitation for that target (a router solicits again only after its retransmission timer,
 * a second by default, has run out without an answer).
 */
export function tallyNdp(lines: string[], targets: Iterable<string>): NdpTally {
  const wanted = new Set([...targets].map(canonical));
  const open = new Map<string, NdpPacket>();
  const tally: NdpTally = { multicast: 0, multicastAnswered: 0, unicast: 0, unicastAnswered: 0 };
  for (const packet of lines.map(parseLine)) {
    if (!packet || !wanted.has(packet.target)) continue;
    if (packet.kind === 'solicitation') {
      open.set(packet.target, packet);
      if (packet.multicast) tally.multicast++;
      else tally.unicast++;
      continue;
    }
    const solicitation = open.get(packet.target);
    if (!solicitation) continue;
    open.delete(packet.target);
    if (solicitation.multicast) tally.multicastAnswered++;
    else tally.unicastAnswered++;
  }
  return tally;
}

function canonical(address: string): string {
  const parsed = parseIPv6(address);
  return parsed === undefined ? address : formatIPv6(parsed);
}
