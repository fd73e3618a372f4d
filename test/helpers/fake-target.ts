// A stand-in for the new system under /target while the late command runs, for tests that
// cannot run apt: a busybox userland (this machine's busybox-static) with apt-get, dpkg-query,
// systemctl, flock and gpasswd replaced by small scripts. apt-get installs a package by
// adding its name to /stub/installed, and fails like apt does against a mirror that lacks
// what /stub/refuse lists (404 for the .deb), that is offline (/stub/offline: every download
// fails), or that is caught mid-sync once (/stub/fail-once: the first install of a listed
// package fails, the next works). Every call goes to /calls.log in the installer's root.
import { execa } from 'execa';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface MirrorFaults {
  /** Packages whose .deb the mirror does not have. */
  refuse?: string[];
  /** Packages whose first install fails (the mirror mid-sync), then works. */
  failOnce?: string[];
  /** No download works (apt-get update, install, full-upgrade all fail). */
  offline?: boolean;
}

/** What the installer put on the disk before late.sh: the packages of a d-i base install. */
export const BASE_PACKAGES = ['ifupdown', 'dhcpcd-base', 'sudo', 'python3', 'iproute2', 'ca-certificates'];

const APT_GET = String.raw`#!/bin/sh
echo "apt-get $*" >> /calls.log
[ -e /stub/offline ] && { echo "E: Failed to fetch http://deb.debian.org/debian/dists/unstable/InRelease  Could not connect to deb.debian.org:80 (203.0.113.80), connection timed out"; exit 100; }
verb=
pkgs=
for a in "$@"; do
  case $a in -*|*::*|*=*) ;; update|install|full-upgrade) verb=$a ;; *) pkgs="$pkgs $a" ;; esac
done
case $verb in
  update|full-upgrade) exit 0 ;;
esac
for p in $pkgs; do
  if grep -qx "$p" /stub/refuse 2>/dev/null; then
    echo "E: Failed to fetch http://deb.debian.org/debian/pool/main/x/$p/$p""_1_amd64.deb  404  Not Found [IP: 203.0.113.80 80]"
    echo "E: Unable to fetch some archives, maybe run apt-get update or try with --fix-missing?"
    exit 100
  fi
  if grep -qx "$p" /stub/fail-once 2>/dev/null; then
    grep -vx "$p" /stub/fail-once > /stub/fail-once.new; mv /stub/fail-once.new /stub/fail-once
    echo "E: Failed to fetch http://deb.debian.org/debian/pool/main/x/$p/$p""_1_amd64.deb  404  Not Found [IP: 203.0.113.80 80]"
    exit 100
  fi
done
for p in $pkgs; do echo "$p" >> /stub/installed; done
exit 0
`;

const DPKG_QUERY = String.raw`#!/bin/sh
for p; do :; done
grep -qx "$p" /stub/installed && printf 'install ok installed' && exit 0
exit 1
`;

const RECORDER = `#!/bin/sh
echo "$(basename "$0") $*" >> /calls.log
exit 0
`;

/**
 * Makes `root/target` a new system as the installer leaves it before the late command: a
 * userland, the base packages, d-i's sources and sudoers.d, and netcfg's ifupdown stanzas.
 */
export async function makeTarget(root: string, faults: MirrorFaults = {}, admin = 'debian'): Promise<string> {
  const target = join(root, 'target');
  for (const dir of ['bin', 'usr/bin', 'usr/sbin', 'stub', 'etc/apt/sources.list.d', 'etc/network', 'etc/systemd/system/multi-user.target.wants', 'tmp', 'dev', 'proc']) {
    await mkdir(join(target, dir), { recursive: true });
  }
  const { stdout: busybox } = await execa('sh', ['-c', 'command -v busybox']);
  await execa('cp', [busybox, join(target, 'bin/busybox')]);
  const { stdout: applets } = await execa(busybox, ['--list']);
  for (const applet of applets.split('\n').filter((a) => a && a !== 'busybox')) await symlink('busybox', join(target, 'bin', applet)).catch(() => undefined);
  const stub = async (path: string, text: string) => {
    await writeFile(join(target, path), text);
    await chmod(join(target, path), 0o755);
  };
  await stub('usr/bin/apt-get', APT_GET);
  await stub('usr/bin/dpkg-query', DPKG_QUERY);
  for (const tool of ['systemctl', 'gpasswd']) await stub(`usr/bin/${tool}`, RECORDER);
  await stub('usr/bin/flock', '#!/bin/sh\nexit 0\n');
  // ifupdown and its DHCP client, as files the network check looks for.
  await stub('usr/sbin/ifup', '#!/bin/sh\nexit 0\n');
  await stub('usr/sbin/dhcpcd', '#!/bin/sh\nexit 0\n');
  await symlink('/usr/lib/systemd/system/networking.service', join(target, 'etc/systemd/system/multi-user.target.wants/networking.service'));
  await writeFile(join(target, 'etc/network/interfaces'), NETCFG_INTERFACES);
  // The admin user-setup made (the late command hands it its SSH keys).
  await writeFile(join(target, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\n${admin}:x:1000:1000::/home/${admin}:/bin/sh\n`);
  await writeFile(join(target, 'etc/group'), `root:x:0:\nsudo:x:27:${admin}\n${admin}:x:1000:\n`);
  await writeFile(join(target, 'stub/installed'), `${BASE_PACKAGES.join('\n')}\n`);
  await writeFile(join(target, 'stub/refuse'), (faults.refuse ?? []).map((p) => `${p}\n`).join(''));
  await writeFile(join(target, 'stub/fail-once'), (faults.failOnce ?? []).map((p) => `${p}\n`).join(''));
  if (faults.offline) await writeFile(join(target, 'stub/offline'), '');
  // What the installer leaves in /target before the late command: deb822 sources, and
  // sudoers.d with Debian's mode.
  await writeFile(join(target, 'etc/apt/sources.list.d/debian.sources'), 'Types: deb\nSuites: trixie\n');
  await writeFile(join(target, 'etc/apt/sources.list'), '# See /etc/apt/sources.list.d/debian.sources\n');
  await mkdir(join(target, 'etc/sudoers.d'), { recursive: true, mode: 0o750 });
  return target;
}

/** What netcfg writes for a DHCP interface that also saw router advertisements (netcfg's write_interface.c). */
export const NETCFG_INTERFACES = `# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug enp1s0
iface enp1s0 inet dhcp
# This is an autoconfigured IPv6 interface
iface enp1s0 inet6 auto
`;
