// The faults the fake Vultr (fake-vultr.ts) can inject, one call at a time, so that a test
// reads "fault X at call k": what the network or Vultr can do to one request (cut it before
// it acts, lose or delay the answer after it acted, answer 5xx after it acted, refuse it with
// 429), and a Ctrl-C (SIGINT to the CLI's process) that lands while the call is in flight.
// The fake knows when the call arrives, so no sleep decides the timing.

export type FaultKind =
  /** The connection is cut before the request acts: nothing happened. */
  | 'drop'
  /** Nothing happens, and the answer is HTTP 500. */
  | 'refused-500'
  /** The request acts, then the connection is cut: the answer is lost. */
  | 'lost'
  /** The request acts, then no answer comes until the client gives up (its timeout). */
  | 'timeout'
  /** The request acts, then the answer is HTTP 502. */
  | 'after-502'
  /** Refused (nothing happens) with 429, without Retry-After, as Vultr does. */
  | '429'
  /** Refused with 429 and a Retry-After of an hour (no client should wait that long). */
  | '429-retry-after'
  /** Ctrl-C while the call is in flight, before it acts: the client gives it up. */
  | 'sigint'
  /** Ctrl-C while the call is in flight, after it acted: its answer is never read. */
  | 'sigint-after'
  /** Ctrl-C as the call arrives; the call is answered as usual (e.g. a second Ctrl-C during cleanup). */
  | 'signal';

export const FAULTS_BEFORE_ACTING: FaultKind[] = ['drop', 'refused-500', '429', '429-retry-after', 'sigint', 'signal'];

/** One API request as the fake saw it arrive. */
export interface Call {
  /** 1, 2, 3… in order of arrival. */
  n: number;
  /** When it arrived (Date.now()). */
  at: number;
  method: string;
  path: string;
  /** The OpenAPI path template, e.g. /instances/{instance-id}. */
  template: string;
  /** "GET /instances/{instance-id}". */
  sig: string;
  /**
   * The call's place in the run with repeated polls counted once: consecutive calls of a
   * polled operation share a group, every other call starts a new one. A fault "at group k"
   * then lands on the same call in every run, however many polls the timing gave.
   */
  group: number;
  firstInGroup: boolean;
}

/** Operations a run polls: how many times it calls them depends on timing. */
export const POLLED = new Set(['GET /iso/{iso-id}', 'GET /instances/{instance-id}', 'GET /instances/{instance-id}/iso']);

export interface Fault {
  kind: FaultKind;
  /** Call number n, or any call the predicate picks (the first one it picks gets the fault). */
  at: number | ((call: Call) => boolean);
}

/** The first call of group k (see Call.group). */
export const atGroup = (k: number) => (call: Call) => call.group === k && call.firstInGroup;

/** The nth call (from 1) with this method and template, e.g. nth('POST', '/instances'). */
export function nth(method: string, template: string, n = 1): (call: Call) => boolean {
  let seen = 0;
  return (call) => call.sig === `${method} ${template}` && ++seen === n;
}

/** Numbers calls and groups them as they arrive. */
export class CallLog {
  readonly calls: Call[] = [];

  arrive(method: string, path: string, template: string): Call {
    const sig = `${method} ${template}`;
    const last = this.calls.at(-1);
    const sameGroup = last !== undefined && last.sig === sig && POLLED.has(sig);
    const call: Call = { n: this.calls.length + 1, at: Date.now(), method, path, template, sig, group: sameGroup ? last.group : (last?.group ?? 0) + 1, firstInGroup: !sameGroup };
    this.calls.push(call);
    return call;
  }

  /** One line per group: "3 POST /iso". */
  groups(): { group: number; sig: string }[] {
    return this.calls.filter((c) => c.firstInGroup).map((c) => ({ group: c.group, sig: c.sig }));
  }
}
