// The late command (installer/late.sh) under the installer's own busybox, with /target a
// stand-in new system (test/helpers/fake-target.ts: busybox, and apt-get that fails the way a
// mirror does), and vultr-sid-complete run in it as in-target runs it: the full install cannot
// run here (docs/testing.md, "What is not covered"; the lab runs late.sh on real sid packages),
// but every file operation, every part and its retries, the status it records, and what
// every console is told run as they would in d-i.
import { execa } from 'execa';
import { cp, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { makeTarget, NETCFG_INTERFACES, type MirrorFaults } from '../helpers/fake-target.js';
import { inInstaller, INSTALLER_PATH, NO_CHROOT, useInstallerRoot } from '../helpers/installer-root.js';
import { ROOT, runCli, tempDir } from '../helpers/project.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@example';
const installer = useInstallerRoot();

// The installer's side: in-target runs the command in /target as d-i's does (retries 0 s
// apart, the variable the lab sets too); `chroot /target id -nG USER` answers that USER is in
// group sudo, as the installer leaves the first user without a root password; logger keeps
// what say told the consoles; debconf-get knows no disk (there is none to wipe here).
const STUBS: Record<string, string> = {
  'in-target': `#!/bin/sh
echo "in-target $*" >> /calls.log
[ "$1" = --pass-stdout ] && shift
exec /bin/busybox chroot /target /bin/env PATH=/usr/sbin:/usr/bin:/sbin:/bin VSI_RETRY_SECONDS=0 "$@"
`,
  chroot: `#!/bin/sh
echo "chroot $*" >> /calls.log
[ "$2" = id ] && echo "$4 sudo"
exit 0
`,
  logger: '#!/bin/sh\n[ "$1" = -t ] && shift 2\necho "$*" >> /say.log\n',
  'debconf-get': '#!/bin/sh\necho\n',
};

interface LateRun {
  exitCode: number | undefined;
  /** Commands the installer's side ran. */
  calls: string[];
  /** Commands run in the new system (apt-get, systemctl, ...). */
  targetCalls: string[];
  /** What say put on the consoles. */
  said: string[];
  /** The late command was still holding the consoles (install failed) and was stopped. */
  held: boolean;
  target: (path: string) => string;
  status: () => Promise<Record<string, string>>;
}

interface LateOptions {
  faults?: MirrorFaults;
  /** The config's admin.username (user-setup made the user). */
  admin?: string;
  /** Changes to the new system before the late command runs. */
  prepare?: (target: string) => Promise<void>;
}

async function runLate(configYaml: string, { faults = {}, admin, prepare }: LateOptions = {}): Promise<LateRun> {
  const root = installer.dir;
  const work = await tempDir();
  const config = join(work, 'iso.config.yaml');
  await writeFile(config, configYaml);
  const r = await runCli(['build', '--config', config, '--render-only', join(work, 'rendered')]);
  expect(r.exitCode, r.stderr).toBe(0);

  for (const path of ['vultr-sid-iso', 'target', 'stub', 'calls.log', 'say.log']) await rm(join(root, path), { recursive: true, force: true });
  await cp(join(work, 'rendered'), join(root, 'vultr-sid-iso'), { recursive: true });
  const target = await makeTarget(root, faults, admin);
  await prepare?.(target);
  await mkdir(join(root, 'stub'));
  for (const [name, text] of Object.entries(STUBS)) await writeFile(join(root, 'stub', name), text, { mode: 0o755 });
  await writeFile(join(root, 'say.log'), '');

  // In its own process group: a late command that holds the consoles is stopped with its sleep.
  const run = execa('chroot', [root, '/bin/sh', '-c', `PATH="$0"; sh /vultr-sid-iso/installer/late.sh`, `/stub:${INSTALLER_PATH}`], { reject: false, detached: true, env: { LC_ALL: 'C' } });
  let held = false;
  const watch = (async () => {
    while (run.exitCode === null && !held) {
      if ((await readFile(join(root, 'say.log'), 'utf8')).includes('restart the VM to install again (')) {
        held = true;
        process.kill(-run.pid!, 'SIGKILL');
      }
      await sleep(100);
    }
  })();
  const result = await run;
  await watch;
  if (!held) expect(result.stderr).toBe('');
  const lines = async (path: string) => (await readFile(path, 'utf8').catch(() => '')).trimEnd().split('\n').filter(Boolean);
  return {
    exitCode: result.exitCode,
    calls: await lines(join(root, 'calls.log')),
    targetCalls: await lines(join(target, 'calls.log')),
    said: await lines(join(root, 'say.log')),
    held,
    target: (path) => join(target, path),
    status: async () => Object.fromEntries((await lines(join(target, 'var/lib/vultr-sid-iso/install-status'))).filter((l) => !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])),
  };
}

/** A command in the stand-in new system after the install, as its admin would run it (as root). */
function inTarget(target: string, command: string) {
  return execa('chroot', [target, '/bin/env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'VSI_RETRY_SECONDS=0', '/bin/sh', '-c', command], { reject: false, env: { LC_ALL: 'C' } });
}

const mode = async (path: string) => (await stat(path)).mode & 0o7777;
const exists = (path: string) => stat(path).then(() => true, () => false);
const PACKAGES = 'docker.io ndppd python3 iproute2 nftables sudo ca-certificates';
const UNITS = 'vultr-sid-metadata-guard.service vultr-sid-ipv6.service vultr-sid-ipv6-recheck.timer vultr-sid-docker-network.service ndppd.service vultr-sid-ndp-proxy.service';

describe.skipIf(NO_CHROOT)("the late command, under the installer's busybox", () => {
  it('places our files, seeds cloud-init, moves apt to unstable, installs the essentials first, then the rest, and records a complete install', async () => {
    const late = await runLate('name: vultr-sid\n');
    expect(late.exitCode).toBe(0);
    expect(await mode(late.target('usr/local/sbin/vultr-sid-ipv6'))).toBe(0o755);
    expect(await mode(late.target('usr/local/sbin/vultr-sid-complete'))).toBe(0o755);
    expect(await mode(late.target('etc/sudoers.d/90-vultr-sid-iso'))).toBe(0o440);
    expect(await mode(late.target('etc/sudoers.d')), 'an existing directory keeps its mode').toBe(0o750);
    expect(await readFile(late.target('etc/systemd/system/ndppd.service'), 'utf8')).toContain('ExecStart=/usr/sbin/ndppd');
    expect(await readFile(late.target('var/lib/cloud/seed/nocloud/user-data'), 'utf8')).toMatch(/^#cloud-config\n/);
    // deb822, as apt 3 wants it, with the archive's keyring named; the installer's sources go.
    expect(await readFile(late.target('etc/apt/sources.list.d/debian.sources'), 'utf8')).toBe(
      'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: unstable\nComponents: main contrib non-free-firmware\nSigned-By: /usr/share/keyrings/debian-archive-keyring.pgp\n',
    );
    await expect(stat(late.target('etc/apt/sources.list'))).rejects.toThrow();
    expect(late.calls).toEqual([
      'in-target --pass-stdout /usr/local/sbin/vultr-sid-complete --installer network',
      'in-target --pass-stdout /usr/local/sbin/vultr-sid-complete --installer essentials',
      'in-target --pass-stdout /usr/local/sbin/vultr-sid-complete --installer',
    ]);
    const apt = (args: string) => `apt-get ${args}`;
    const opts = '-y -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=300';
    expect(late.targetCalls).toEqual([
      apt('-o DPkg::Lock::Timeout=300 --error-on=any update'),
      apt(`${opts} install openssh-server cloud-init`),
      'systemctl enable vultr-sid-complete.service',
      // A run of its own: its lists are refreshed once.
      apt('-o DPkg::Lock::Timeout=300 --error-on=any update'),
      apt(`${opts} full-upgrade`),
      apt(`${opts} install ${PACKAGES}`),
      `systemctl enable ${UNITS}`,
    ]);
    expect(await late.status()).toMatchObject({
      network: 'done: ifupdown: enp1s0 (inet dhcp, inet6 auto)',
      essentials: 'done',
      upgrade: 'done',
      packages: 'done',
      units: 'done',
    });
    expect(await exists(late.target('var/lib/vultr-sid-iso/install-incomplete'))).toBe(false);
    expect(await exists(late.target('etc/issue.d/vultr-sid-iso.issue'))).toBe(false);
    expect(late.said.at(-1)).toBe('install complete; rebooting into the installed system');
    expect(late.said).toContain('installing openssh-server cloud-init (what makes the VM reachable)');
    expect(late.said).toContain('network: done: ifupdown: enp1s0 (inet dhcp, inet6 auto)');
    const status = await inTarget(late.target(''), 'vultr-sid-status');
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^vultr-sid-iso install: complete \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)\n {2}essentials {2}done\n/);
    expect((await inTarget(late.target(''), '/etc/update-motd.d/60-vultr-sid-status')).stdout).toBe('');
  });

  it('hands the SSH keys to the admin, takes them out of group sudo for sudo: none, and leaves ndppd disabled when asked', async () => {
    const late = await runLate(
      `admin:\n  username: ops\n  sshAuthorizedKeys: ["${KEY}"]\n  sudo: none\nndppd:\n  enabled: false\ninstaller:\n  packages: [vim]\n`,
      { admin: 'ops' },
    );
    expect(late.exitCode).toBe(0);
    expect(await readFile(late.target('home/ops/.ssh/authorized_keys'), 'utf8')).toBe(`${KEY}\n`);
    expect(await mode(late.target('home/ops/.ssh'))).toBe(0o700);
    expect(await mode(late.target('home/ops/.ssh/authorized_keys'))).toBe(0o600);
    expect(late.calls).toContain('in-target chown -R ops:ops /home/ops/.ssh');
    expect(late.calls).toContain('chroot /target id -nG ops');
    expect(late.calls).toContain('chroot /target gpasswd -d ops sudo');
    expect(late.targetCalls.find((c) => c.includes(' install docker.io'))).toMatch(/ ca-certificates vim$/);
    expect(late.targetCalls).toContain('systemctl enable vultr-sid-metadata-guard.service vultr-sid-ipv6.service vultr-sid-ipv6-recheck.timer vultr-sid-docker-network.service');
    expect(late.targetCalls.at(-1)).toBe('systemctl disable ndppd.service vultr-sid-ndp-proxy.service');
  });

  it('a passing mirror error (a package the mirror lists but has not got yet) is tried again with fresh lists, and the install completes', async () => {
    const late = await runLate('name: vultr-sid\n', { faults: { failOnce: ['cloud-init'] } });
    expect(late.exitCode).toBe(0);
    expect(late.said).toContain(
      'installing openssh-server cloud-init failed (attempt 1 of 4: E: Failed to fetch http://deb.debian.org/debian/pool/main/x/cloud-init/cloud-init_1_amd64.deb  404  Not Found [IP: 203.0.113.80 80]); trying again in 0 s',
    );
    // The lists refreshed before the second attempt (and once for the rest).
    expect(late.targetCalls.slice(0, 4).map((c) => c.split(' ').at(-1))).toEqual(['update', 'cloud-init', 'update', 'cloud-init']);
    expect((await late.status()).essentials).toBe('done');
    expect(late.said.at(-1)).toBe('install complete; rebooting into the installed system');
  });

  it('a package the mirror lacks leaves only itself out: the install finishes, records what is missing, and the login screen says how to complete it; vultr-sid-complete completes it later', async () => {
    const late = await runLate('name: vultr-sid\n', { faults: { refuse: ['docker.io'] } });
    expect(late.exitCode).toBe(0);
    const status = await late.status();
    expect(status).toMatchObject({ essentials: 'done', upgrade: 'done' });
    expect(status.packages).toBe('failed: docker.io could not be installed (E: Failed to fetch http://deb.debian.org/debian/pool/main/x/docker.io/docker.io_1_amd64.deb  404  Not Found [IP: 203.0.113.80 80])');
    expect(status.units).toBe('waiting: for docker.io (our units need the packages)');
    // Four tries of the whole set, then one each: the others are in.
    expect(late.targetCalls.filter((c) => c.endsWith(`install ${PACKAGES}`))).toHaveLength(4);
    for (const p of ['ndppd', 'nftables']) expect(late.targetCalls.some((c) => c.endsWith(` install ${p}`))).toBe(true);
    expect(late.targetCalls.some((c) => c.startsWith('systemctl enable vultr-sid-metadata-guard'))).toBe(false);
    expect(await exists(late.target('var/lib/vultr-sid-iso/install-incomplete'))).toBe(true);
    expect(await readFile(late.target('etc/issue.d/vultr-sid-iso.issue'), 'utf8')).toBe(
      `vultr-sid-iso: this install is incomplete: packages ${status.packages}; units ${status.units}\nComplete it with: sudo /usr/local/sbin/vultr-sid-complete (it is also tried at every boot)\n\n`,
    );
    expect(late.said.slice(-2)).toEqual([
      `install finished with parts missing: packages ${status.packages}; units ${status.units}`,
      'rebooting into the installed system: it is reachable, says what is missing, and completes it at boot or with: sudo /usr/local/sbin/vultr-sid-complete',
    ]);

    // On the installed system: the status command and the login message say what is missing.
    const before = await inTarget(late.target(''), 'vultr-sid-status');
    expect(before.exitCode).toBe(1);
    expect(before.stdout).toContain(`  packages    ${status.packages}\n`);
    expect(before.stdout.trimEnd().split('\n').at(-1)).toBe('Complete it with: sudo /usr/local/sbin/vultr-sid-complete');
    expect((await inTarget(late.target(''), '/etc/update-motd.d/60-vultr-sid-status')).stdout).toBe(
      `vultr-sid-iso: this install is incomplete: packages ${status.packages}; units ${status.units}\nComplete it with: sudo /usr/local/sbin/vultr-sid-complete`,
    );
    // The mirror has docker.io again: the one command completes the install and starts our units.
    await writeFile(late.target('stub/refuse'), '');
    const done = await inTarget(late.target(''), 'vultr-sid-complete');
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.stderr).toContain('vultr-sid-iso: this install is incomplete: packages failed: docker.io');
    expect(done.stderr.trimEnd().split('\n').at(-1)).toBe('vultr-sid-iso: the install is complete');
    expect(await inTarget(late.target(''), 'cat /calls.log').then((r) => r.stdout.split('\n').slice(-3))).toEqual([
      `systemctl enable ${UNITS}`,
      'systemctl daemon-reload',
      `systemctl start --no-block ${UNITS}`,
    ]);
    expect(await exists(late.target('var/lib/vultr-sid-iso/install-incomplete'))).toBe(false);
    expect(await exists(late.target('etc/issue.d/vultr-sid-iso.issue'))).toBe(false);
    expect(await exists(late.target('usr/sbin/policy-rc.d')), 'its policy-rc.d is gone').toBe(false);
    expect((await inTarget(late.target(''), 'vultr-sid-status')).exitCode).toBe(0);
    const again = await inTarget(late.target(''), 'vultr-sid-complete');
    expect(again.stderr.trim()).toBe('vultr-sid-iso: the install is complete; nothing to do (vultr-sid-status)');
  });

  it("a user's extra package the mirror lacks is missing on its own: our units are enabled all the same", async () => {
    const late = await runLate('name: vultr-sid\ninstaller:\n  packages: [vim]\n', { faults: { refuse: ['vim'] } });
    expect(late.exitCode).toBe(0);
    const status = await late.status();
    expect(status.packages).toMatch(/^failed: vim could not be installed /);
    expect(status.units).toBe('done');
    expect(late.targetCalls).toContain(`systemctl enable ${UNITS}`);
  });

  it('when not even the essentials can be installed, the install fails visibly: every console says why and keeps saying it, and it never reboots into the half-made system', async () => {
    const late = await runLate('name: vultr-sid\n', { faults: { offline: true } });
    expect(late.held, late.said.join('\n')).toBe(true);
    const why = 'openssh-server cloud-init could not be installed (E: Failed to fetch http://deb.debian.org/debian/dists/unstable/InRelease  Could not connect to deb.debian.org:80 (203.0.113.80), connection timed out)';
    expect(late.said).toContain(`install failed: ${why}`);
    expect(late.said).toContain('the install stops here rather than leave a VM nobody can reach or one not as configured; the half-made system is not left bootable');
    // Here no disk is known; on a VM it is wiped (the lab's "nothing" case shows that).
    expect(late.said.some((l) => l.startsWith('could not tell which disk to wipe'))).toBe(true);
    expect(late.said.some((l) => l.includes('rebooting'))).toBe(false);
    expect(late.targetCalls.filter((c) => c.endsWith(' update'))).toHaveLength(4);
    expect((await late.status()).essentials).toBe(`failed: ${why}`);
    expect(late.calls.some((c) => c === 'in-target --pass-stdout /usr/local/sbin/vultr-sid-complete --installer'), 'nothing after the essentials runs').toBe(false);
  });

  it('a network configuration the boot program does not support (systemd-networkd) is refused loudly; the rest installs, and the VM still boots', async () => {
    const late = await runLate('name: vultr-sid\n', { prepare: async (target) => {
      await writeFile(join(target, 'etc/network/interfaces'), 'auto lo\niface lo inet loopback\n');
      await mkdir(join(target, 'etc/systemd/network'), { recursive: true });
      await writeFile(join(target, 'etc/systemd/network/10-enp1s0.network'), '[Match]\nName=enp1s0\n\n[Network]\nDHCP=yes\n');
      await symlink('/usr/lib/systemd/system/systemd-networkd.service', join(target, 'etc/systemd/system/multi-user.target.wants/systemd-networkd.service'));
    } });
    expect(late.exitCode).toBe(0);
    const status = await late.status();
    expect(status.network).toMatch(/^failed: unsupported network configuration: systemd-networkd configures the network \(\/etc\/systemd\/network\/10-enp1s0\.network\); vultr-sid-ipv6 supports ifupdown/);
    expect(status).toMatchObject({ essentials: 'done', upgrade: 'done', packages: 'done', units: 'done' });
    expect(late.said).toContain(`network: ${status.network}`);
    expect(late.said.at(-2)).toBe(`install finished with parts missing: network ${status.network}`);
  });
});

describe.skipIf(NO_CHROOT)('vultr-sid-network-check, on the trees the installer may leave', () => {
  async function check(files: Record<string, string | null>, args: string[] = []) {
    const target = await makeTarget(await tempDir());
    for (const [path, text] of Object.entries(files)) {
      const full = join(target, path);
      if (text === null) {
        await rm(full, { force: true });
        continue;
      }
      await mkdir(join(full, '..'), { recursive: true });
      if (text.startsWith('->')) await symlink(text.slice(2), full);
      else await writeFile(full, text);
    }
    const root = installer.dir;
    await cp(join(ROOT, 'templates/rootfs/usr/local/sbin/vultr-sid-network-check'), join(root, 'network-check'));
    await rm(join(root, 'checked'), { recursive: true, force: true });
    await execa('cp', ['-a', target, join(root, 'checked')]);
    const r = await inInstaller(root, 'sh /network-check --root /checked "$@"', INSTALLER_PATH, ...args);
    return { code: r.exitCode, line: r.stdout.trim() };
  }
  const networkd = { 'etc/systemd/network/10-enp1s0.network': '[Match]\nName=enp1s0\n[Network]\nDHCP=yes\n', 'etc/systemd/system/multi-user.target.wants/systemd-networkd.service': '->/usr/lib/systemd/system/systemd-networkd.service' };

  it.each([
    ['netcfg: DHCP and SLAAC', {}, [], 0, 'ifupdown: enp1s0 (inet dhcp, inet6 auto)'],
    ['a static address, in interfaces.d', { 'etc/network/interfaces': 'auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n', 'etc/network/interfaces.d/uplink': 'auto ens3\niface ens3 inet static\n  address 192.0.2.5/24\n  gateway 192.0.2.1\n' }, [], 0, 'ifupdown: ens3 (inet static)'],
    ['the named uplink', {}, ['--uplink', 'enp1s0'], 0, 'ifupdown: enp1s0 (inet dhcp, inet6 auto)'],
    ['networkd files, networkd not enabled (ifupdown still brings the uplink up)', { 'etc/systemd/network/10-enp1s0.network': '[Match]\nName=enp1s0\n' }, [], 0, 'ifupdown: enp1s0 (inet dhcp, inet6 auto)'],
    ['loopback only (netcfg on a wireless or NetworkManager install)', { 'etc/network/interfaces': 'auto lo\niface lo inet loopback\n' }, [], 1, /brings no interface up at boot with IPv4/],
    ['a stanza without auto or allow-hotplug', { 'etc/network/interfaces': 'iface enp1s0 inet dhcp\n' }, [], 1, /brings no interface up at boot/],
    ['another uplink than the one named', {}, ['--uplink', 'ens3'], 1, /does not bring ens3 up at boot/],
    ['systemd-networkd enabled with a .network file', networkd, [], 1, /systemd-networkd configures the network \(\/etc\/systemd\/network\/10-enp1s0\.network\)/],
    ['Netplan', { 'etc/netplan/90-installer.yaml': 'network:\n  version: 2\n' }, [], 1, /Netplan configures the network \(\/etc\/netplan\/90-installer\.yaml\)/],
    ['NetworkManager enabled', { 'etc/systemd/system/multi-user.target.wants/NetworkManager.service': '->/usr/lib/systemd/system/NetworkManager.service' }, [], 1, /NetworkManager is enabled/],
    ['ifupdown not installed', { 'usr/sbin/ifup': null }, [], 1, /ifupdown is not installed/],
    ['networking.service not enabled', { 'etc/systemd/system/multi-user.target.wants/networking.service': null }, [], 1, /networking.service \(ifupdown\) is not enabled/],
    ['DHCP without a DHCP client', { 'usr/sbin/dhcpcd': null }, [], 1, /no DHCP client is installed/],
    ['router advertisements turned off', { 'etc/network/interfaces': `${NETCFG_INTERFACES}  accept_ra 0\n` }, [], 1, /accept_ra 0/],
  ] as const)('%s', async (_name, files, args, code, line) => {
    const r = await check(files as Record<string, string | null>, [...args]);
    expect(r.code, r.line).toBe(code);
    if (typeof line === 'string') expect(r.line).toBe(line);
    else expect(r.line).toMatch(line);
    if (code === 1) expect(r.line).toMatch(/^unsupported network configuration: /);
  });
});
