// Every bad config value is refused before anything is written: exit 2 and one line naming
// the config path, the value and what is expected.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ROOT, runCli, tempDir } from '../helpers/project.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@example';

// [name, YAML, text the one-line error must contain]
const CASES: [string, string, string][] = [
  ['YAML syntax', 'name: [unclosed\n', 'YAML syntax error at line'],
  ['top level is a list', '- a\n- b\n', 'expected a mapping'],
  ['unknown top-level key', 'nmae: x\n', 'nmae: unknown key; did you mean name?'],
  ['unknown nested key', 'docker:\n  subnett: auto\n', 'docker.subnett: unknown key; did you mean docker.subnet?'],
  ['unknown key, a case slip', 'boot:\n  serialconsole: true\n', 'boot.serialconsole: unknown key; did you mean boot.serialConsole?'],
  ['unknown key near none', 'docker:\n  bananas: 3\n', 'docker.bananas: unknown key; check the spelling against iso.config.schema.json'],
  ['name with capitals', 'name: Vultr\n', 'name: "Vultr" is not a valid ISO name prefix'],
  ['name wrong type', 'name: 12\n', 'name: 12 is not a string; write a string, such as its default "vultr-sid" (docs/config.md describes each key)'],
  ['timeout zero', 'boot:\n  timeout: 0\n', 'boot.timeout: 0 is below 1 second'],
  ['timeout too long', 'boot:\n  timeout: 9999\n', 'boot.timeout: 9999 is above 300'],
  ['timeout fractional', 'boot:\n  timeout: 2.5\n', 'boot.timeout: 2.5 is not a whole number'],
  ['timeout string', 'boot:\n  timeout: soon\n', 'boot.timeout: "soon" is not a number; write a number, such as its default 5 (docs/config.md describes each key)'],
  ['serial console string', 'boot:\n  serialConsole: "yes"\n', 'boot.serialConsole: "yes" is not a boolean; write true or false (docs/config.md describes each key)'],
  ['bad locale', 'installer:\n  locale: english\n', 'installer.locale: "english" is not a locale'],
  ['bad keyboard', 'installer:\n  keyboard: "US QWERTY"\n', 'installer.keyboard: "US QWERTY" is not an XKB layout'],
  ['bad timezone', 'installer:\n  timezone: "Mars/Olympus Mons"\n', 'installer.timezone: "Mars/Olympus Mons" is not a tz database name'],
  ['bad hostname', 'installer:\n  hostname: "-bad-"\n', 'installer.hostname: "-bad-" is not a valid host name'],
  ['hostname with quote', 'installer:\n  hostname: "a\'b"\n', 'installer.hostname: "a\'b" is not a valid host name'],
  ['bad domain', 'installer:\n  domain: "exa mple.com"\n', 'installer.domain: "exa mple.com" is not a valid DNS domain'],
  ['mirror host with space', 'installer:\n  mirror:\n    host: "deb debian org"\n', 'installer.mirror.host: "deb debian org" is not a valid host name'],
  ['mirror directory relative', 'installer:\n  mirror:\n    directory: debian\n', 'installer.mirror.directory: "debian" is not a path starting with /'],
  ['suite sid', 'installer:\n  suite: sid\n', 'installer.suite: "sid" is not a supported suite'],
  ['bad disk recipe', 'installer:\n  disk:\n    recipe: lvm\n', 'installer.disk.recipe: "lvm" is not a partman-auto recipe'],
  ['package with shell', 'installer:\n  packages: ["vim; rm -rf /"]\n', 'installer.packages[0]: "vim; rm -rf /" is not a Debian package name'],
  ['packages not a list', 'installer:\n  packages: vim\n', 'installer.packages: "vim" is not an array; write a list, such as ["vim"]'],
  ['root user', 'admin:\n  username: root\n', 'admin.username: "root" is reserved'],
  ['bad user name', 'admin:\n  username: "Bad User"\n', 'admin.username: "Bad User" is not a valid user name'],
  ['plain password', 'admin:\n  passwordHash: hunter2\n', 'admin.passwordHash: "hunter2" is not a crypted password hash'],
  ['sudo by password without one', 'admin:\n  sudo: password\n', 'admin.sudo: "password" asks for the admin\'s password, but admin.passwordHash is "!" (none), so sudo could never be used'],
  ['ssh password login without a password', 'admin:\n  sshPasswordLogin: true\n', 'admin.sshPasswordLogin: true turns on SSH password login, but admin.passwordHash is "!"'],
  ['bad ssh key type', 'admin:\n  sshAuthorizedKeys: ["ssh-foo AAAA"]\n', 'admin.sshAuthorizedKeys[0]: "ssh-foo AAAA" is not an OpenSSH public key'],
  ['ssh key blob mismatch', 'admin:\n  sshAuthorizedKeys: ["ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"]\n', 'admin.sshAuthorizedKeys[0]'],
  ['ssh key with newline', `admin:\n  sshAuthorizedKeys: ["${KEY}\\nssh-rsa AAAA"]\n`, 'is not an OpenSSH public key'],
  ['private key pasted', 'admin:\n  fullName: "-----BEGIN OPENSSH PRIVATE KEY-----"\n', 'admin.fullName: looks like a private key'],
  ['bad sudo mode', 'admin:\n  sudo: always\n', 'admin.sudo: "always" is not one of nopasswd, password, none'],
  ['subnet /64', 'docker:\n  subnet: "2001:db8::/64"\n', 'docker.subnet: "2001:db8::/64" is a /64, not a /80; write a /80 such as "2001:db8::/80", or "auto"'],
  ['subnet bad ipv6', 'docker:\n  subnet: "2001:db8::zz/80"\n', 'docker.subnet: "2001:db8::zz/80" is not an IPv6 prefix; write "auto", a /80 index from 0 to 65535, or a /80 such as'],
  ['subnet without a length', 'docker:\n  subnet: "2001:db8:5:56c2::"\n', 'docker.subnet: "2001:db8:5:56c2::" is not an IPv6 prefix; write "auto"'],
  ['subnet with host bits', 'docker:\n  subnet: "2001:db8::1/80"\n', 'docker.subnet: "2001:db8::1/80" is an address, not a prefix; write the /80 it lies in, "2001:db8::/80"'],
  ['subnet index too large', 'docker:\n  subnet: 70000\n', 'docker.subnet: 70000 is not'],
  ['ip6tables (gone)', 'docker:\n  ip6tables: false\n', 'docker.ip6tables: replaced by docker.exposure'],
  ['bad exposure', 'docker:\n  exposure: everything\n', 'docker.exposure: "everything" is not published or all-ports'],
  ['docker network named bridge', 'docker:\n  network: bridge\n', 'docker.network: "bridge" is one of Docker\'s own networks'],
  ['ndppd method (retired)', 'ndppd:\n  method: auto\n', 'ndppd.method: "auto" is retired: ndppd now always answers for the whole /80, because Debian\'s ndppd 0.2.5 answers "auto" for only one address at a time (docs/networking.md); remove ndppd.method'],
  ['bad uplink', 'network:\n  uplink: "eth0; reboot"\n', 'network.uplink: "eth0; reboot" is not "auto" or an interface name'],
  ['base url not http', 'base:\n  url: ftp://example.com/a.iso\n', 'base.url: "ftp://example.com/a.iso" is not an http(s) URL'],
  ['bad fingerprint', 'base:\n  fingerprints: [abc]\n', 'base.fingerprints[0]: "abc" is not a 40-digit'],
  ['keep zero', 'publish:\n  keep: 0\n', 'publish.keep: 0 is below 1'],
  ['library size zero', 'publish:\n  librarySize: 0\n', 'publish.librarySize: 0 is below 1'],
  ['a key of a section at the top level', 'timeout: 5\n', 'timeout: not a top-level key; did you mean boot.timeout, indented under its section?'],
  ['a section that is not a mapping', 'boot: 5\n', 'boot: 5 is not an object; write its keys under it, indented (docs/config.md lists them)'],
  ['no vm tag', 'vm:\n  tags: []\n', 'vm.tags: [] is empty; give at least one tag'],
  ['base url with credentials', 'base:\n  url: https://me:pw@example.com/a.iso\n', 'base.url: carries credentials (user:password@ in the URL)'],
  ['s3 endpoint with credentials', 'publish:\n  s3:\n    endpoint: https://KEY:SECRET@ewr1.vultrobjects.com\n', 'publish.s3.endpoint: carries credentials'],
  ['negative InRelease grace', 'base:\n  validUntilGraceDays: -1\n', 'base.validUntilGraceDays: -1 is below 0'],
  ['api key in config', 'vm:\n  tags: [ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789]\n', 'vm.tags[0]'],
];

describe('malformed configs', () => {
  it(`has at least 30 cases (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(CASES)('%s', (_name, yaml, expected) => {
    expect(() => parseConfig(yaml, 'c.yaml', {})).toThrow(expected);
  });

  it('never repeats the credentials it refuses', () => {
    const message = (() => {
      try {
        parseConfig('publish:\n  s3:\n    endpoint: https://KEY:hunter2@ewr1.vultrobjects.com\n', 'c.yaml', {});
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(message).toContain('carries credentials');
    expect(message).not.toContain('hunter2');
  });

  it('refuses a config value equal to a secret from the environment', () => {
    expect(() => parseConfig('installer:\n  domain: s3cr3t-value.example\n', 'c.yaml', { VULTR_API_KEY: 's3cr3t-value' })).toThrow(
      'installer.domain: holds the value of $VULTR_API_KEY',
    );
  });

  it('accepts the committed config, and an empty file means all defaults', async () => {
    const committed = parseConfig(await readFile(join(ROOT, 'iso.config.yaml'), 'utf8'), 'iso.config.yaml', {});
    expect(parseConfig('', 'empty.yaml', {})).toEqual(committed);
    expect(committed.docker.subnet).toBe('auto');
  });

  it('through the CLI: exit 2, one line naming the path, nothing written', { timeout: 120_000 }, async () => {
    const dir = await tempDir();
    const picked = CASES.filter((_, i) => i % 4 === 0);
    await Promise.all(
      picked.map(async ([name, yaml, expected], i) => {
        const file = join(dir, `c${i}.yaml`);
        await writeFile(file, yaml);
        const out = join(dir, `render-${i}`);
        const r = await runCli(['build', '--config', file, '--render-only', out]);
        expect(r.exitCode, name).toBe(2);
        const lines = r.stderr.split('\n').filter((l) => l.startsWith('vultr-sid-iso:'));
        expect(lines, name).toHaveLength(1);
        expect(lines[0], name).toContain(`${file}: `);
        expect(lines[0], name).toContain(expected);
        expect(existsSync(out), name).toBe(false);
      }),
    );
  });
});
