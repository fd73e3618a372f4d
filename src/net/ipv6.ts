// IPv6 address arithmetic on 128-bit integers. Never string surgery: "2001:db8:5:0::" prints
// as "2001:db8:5::", so replacing "::" to derive a /80 gives a different network
// (docs/networking.md, "The boot program"). The boot program (Python's ipaddress) follows
// the same rules and the tests check the two agree.

const MAX = (1n << 128n) - 1n;

export function parseIPv6(text: string): bigint | undefined {
  let s = text.trim();
  if (s.includes('%')) return undefined;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hextets.
  const v4 = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const o = v4.slice(2, 6).map(Number);
    if (o.some((n) => n > 255)) return undefined;
    s = `${v4[1]}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  return value;
}

/** RFC 5952 text: lower case, leading zeros dropped, the longest run (≥ 2) of zero hextets as "::". */
export function formatIPv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

export interface Prefix {
  network: bigint;
  length: number;
}

export function parsePrefix(text: string): Prefix | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const length = Number(m[2]);
  const addr = parseIPv6(m[1]!);
  if (addr === undefined || length > 128) return undefined;
  return { network: addr & mask(length), length };
}

export function mask(length: number): bigint {
  return length === 0 ? 0n : (MAX << BigInt(128 - length)) & MAX;
}

export function isIPv6Prefix(text: string, length?: number): boolean {
  const p = parsePrefix(text);
  if (!p) return false;
  if (length !== undefined && p.length !== length) return false;
  // Host bits must be zero: "2001:db8::1/80" is an address, not a prefix.
  return parseIPv6(text.split('/')[0]!) === p.network;
}

export function formatPrefix(p: Prefix): string {
  return `${formatIPv6(p.network)}/${p.length}`;
}

export function contains(p: Prefix, address: bigint): boolean {
  return (address & mask(p.length)) === p.network;
}

export type SubnetChoice = 'auto' | number | string;

/**
 * The container /80 inside the VM's /64. "auto": the first /80 (index 0) unless it holds the
 * host's own address, then the next. A number: that /80. A string: an explicit /80 that must
 * lie inside the /64 and not hold the host address.
 */
export function containerPrefix(vmNetwork: Prefix, hostAddress: bigint | undefined, choice: SubnetChoice): Prefix {
  if (vmNetwork.length !== 64) throw new Error(`the VM network ${formatPrefix(vmNetwork)} is not a /64`);
  const at = (index: number): Prefix => ({ network: vmNetwork.network | (BigInt(index) << 48n), length: 80 });
  const holdsHost = (p: Prefix) => hostAddress !== undefined && contains(p, hostAddress);
  let chosen: Prefix;
  if (choice === 'auto') {
    chosen = at(0);
    if (holdsHost(chosen)) chosen = at(1);
    return chosen;
  }
  if (typeof choice === 'number') {
    if (!Number.isInteger(choice) || choice < 0 || choice > 0xffff) throw new Error(`subnet index ${choice} is not between 0 and 65535`);
    chosen = at(choice);
  } else {
    const p = parsePrefix(choice);
    if (!p || p.length !== 80) throw new Error(`subnet ${choice} is not a /80`);
    if (!contains(vmNetwork, p.network)) throw new Error(`subnet ${choice} is outside the VM network ${formatPrefix(vmNetwork)}`);
    chosen = p;
  }
  if (holdsHost(chosen)) {
    throw new Error(`subnet ${formatPrefix(chosen)} holds the host address ${formatIPv6(hostAddress!)}; pick another index`);
  }
  return chosen;
}
