// Whether this machine can reach a VM's public IPv6 address, and whether a host can be
// reached over IPv6 at all: what `vm create --ipv6-only` decides before it makes anything.
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { parseIPv6 } from './ipv6.js';

/** A public address on the IPv6 internet (2000::/3), not a unique-local, link-local or loopback one. */
export function isGlobalUnicast(address: string): boolean {
  const value = parseIPv6(address.replace(/%.*$/, ''));
  return value !== undefined && value >> 125n === 1n;
}

/**
 * True when the kernel has a route to the public IPv6 internet with a global source address.
 * Connecting a UDP socket sends nothing: it only asks for the route and the source address.
 * A machine behind a unique-local prefix (fd00::/8, as this project's build machines) or with
 * no IPv6 at all (GitHub's hosted runners) gets false. `probe` is any public IPv6 address.
 */
export function hasPublicIpv6Route(probe = '2001:4860:4860::8888'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp6');
    const done = (answer: boolean) => {
      socket.close();
      resolve(answer);
    };
    socket.on('error', () => done(false));
    socket.connect(53, probe, () => {
      try {
        done(isGlobalUnicast(socket.address().address));
      } catch {
        done(false);
      }
    });
  });
}

/** The IPv6 addresses a URL's host has (an IPv6 literal is its own; an IPv4 literal has none). */
export async function ipv6AddressesOf(hostname: string): Promise<string[]> {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIPv6(host)) return [host];
  if (isIPv4(host)) return [];
  try {
    return (await lookup(host, { family: 6, all: true })).map((a) => a.address);
  } catch {
    return [];
  }
}
