import { describe, expect, it } from 'vitest';
import { containerPrefix, formatIPv6, formatPrefix, isIPv6Prefix, parseIPv6, parsePrefix } from '../../src/net/ipv6.js';

const p = (s: string) => parsePrefix(s)!;
const a = (s: string) => parseIPv6(s)!;

describe('IPv6 text forms', () => {
  it.each([
    ['2001:db8::', '2001:db8::'],
    ['2001:0db8:0005:0000:0000:0000:0000:0000', '2001:db8:5::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8:0:1:0:0:0:0', '2001:db8:0:1::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ])('%s prints as %s', (input, expected) => {
    expect(formatIPv6(a(input))).toBe(expected);
  });

  it.each(['2001:db8::1::2', '2001:db8:::1', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', '', 'fe80::1%eth0'])('rejects %s', (bad) => {
    expect(parseIPv6(bad)).toBeUndefined();
  });

  it('knows a /80 prefix from an address', () => {
    expect(isIPv6Prefix('2001:db8::/80', 80)).toBe(true);
    expect(isIPv6Prefix('2001:db8::/64', 80)).toBe(false);
    expect(isIPv6Prefix('2001:db8::1/80', 80)).toBe(false);
  });
});

describe('container /80', () => {
  it('is the first /80 of the /64 in auto mode', () => {
    expect(formatPrefix(containerPrefix(p('2001:db8:5:56c2::/64'), a('2001:db8:5:56c2:5400:3ff:fe1b:4eca'), 'auto'))).toBe('2001:db8:5:56c2::/80');
  });

  it('skips the first /80 when it holds the host address', () => {
    expect(formatPrefix(containerPrefix(p('2001:db8::/64'), a('2001:db8::5'), 'auto'))).toBe('2001:db8:0:0:1::/80');
  });

  it('handles networks whose compressed form hides zero hextets', () => {
    // "2001:db8:5:0::" prints as "2001:db8:5::"; string surgery would leave the /64.
    expect(formatPrefix(containerPrefix(p('2001:db8:5:0::/64'), undefined, 3))).toBe('2001:db8:5:0:3::/80');
    expect(formatPrefix(containerPrefix(p('2001:0db8:0005:0000:0000:0000:0000:0000/64'), undefined, 'auto'))).toBe('2001:db8:5::/80');
  });

  it('refuses an explicit /80 outside the /64 or holding the host', () => {
    expect(() => containerPrefix(p('2001:db8::/64'), undefined, '2001:db9::/80')).toThrow(/outside/);
    expect(() => containerPrefix(p('2001:db8::/64'), a('2001:db8::5'), 0)).toThrow(/holds the host address/);
    expect(() => containerPrefix(p('2001:db8::/48'), undefined, 'auto')).toThrow(/not a \/64/);
  });
});
