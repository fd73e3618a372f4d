// Loaded into every CLI process the Vultr tests run (`node --import` through NODE_OPTIONS, so
// a script's own CLI runs get it too): a TCP connection to anything but a loopback address is
// refused before a packet leaves, and written to the file named by DIAL_LOG_VARIABLE, which
// useVultrChecks and the fault matrix read after each test. The tests talk to a fake Vultr,
// s3rver and the fake's "installed systems", all on loopback; the fake's instances have
// documentation IPv6 addresses (2001:db8::/32), which a machine with an IPv6 default route
// would send to its gateway (this project's build machines did, to fd00::1) if vm create
// dialled them. UDP is left alone: vm create's route check connects a UDP socket, which sends
// nothing. Native programs the tests start (ssh, curl) are not covered.
import { appendFileSync } from 'node:fs';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, Socket } from 'node:net';
import { DIAL_LOG_VARIABLE, isLoopback } from './loopback-only.js';

function refused(what: string): NodeJS.ErrnoException {
  const line = `refused a connection to ${what}: the tests dial loopback addresses only`;
  const log = process.env[DIAL_LOG_VARIABLE];
  if (log) appendFileSync(log, `${line}\n`);
  return Object.assign(new Error(`connect EACCES ${what} (loopback guard: ${line})`), { code: 'EACCES' });
}

type Lookup = (hostname: string, options: object, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => void;

/** A lookup that fails a name resolving to anything but loopback. */
function guardedLookup(original: Lookup | undefined): Lookup {
  const resolve = original ?? (dnsLookup as unknown as Lookup);
  return (hostname, options, callback) =>
    resolve(hostname, options, (error, address, family) => {
      if (error) return callback(error, address, family);
      const all = Array.isArray(address) ? address.map((a) => a.address) : [address];
      const outside = all.find((a) => !isLoopback(a));
      if (outside) return callback(refused(`${hostname} (${outside})`), address, family);
      callback(null, address, family);
    });
}

interface ConnectOptions {
  host?: string;
  port?: number | string;
  path?: string;
  lookup?: Lookup;
}

/** What connect(...) was asked for: options, port [, host], or an IPC path; net.connect passes its normalized array. */
function optionsOf(args: unknown[]): ConnectOptions | undefined {
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (first && typeof first === 'object') return first as ConnectOptions;
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) return { port: first, host: typeof args[1] === 'string' ? args[1] : undefined };
  return undefined;
}

const connect = Socket.prototype.connect as (this: Socket, ...args: unknown[]) => Socket;
Socket.prototype.connect = function guardedConnect(this: Socket, ...args: unknown[]): Socket {
  const options = optionsOf(args);
  if (options && options.path === undefined) {
    const host = options.host ?? 'localhost';
    if (isIP(host.replace(/^\[|\]$/g, ''))) {
      if (!isLoopback(host)) {
        const error = refused(host);
        process.nextTick(() => this.destroy(error));
        return this;
      }
    } else if (typeof args[0] === 'object') {
      // A name: every address it resolves to must be loopback.
      options.lookup = guardedLookup(options.lookup);
    } else {
      // (port[, name][, callback]) as the options form, which takes a lookup.
      const callback = args.find((a) => typeof a === 'function');
      return connect.call(this, { port: options.port, host, lookup: guardedLookup(undefined) }, ...(callback ? [callback] : []));
    }
  }
  return connect.apply(this, args);
} as typeof Socket.prototype.connect;
