// The late command (installer/late.sh) under the installer's own busybox, with /target a bare
// directory and in-target/chroot replaced by recorders: the full install cannot run here
// (docs/testing.md, "What is not covered"), but every file operation, the apt switch to
// unstable and the commands handed to the target run as they would in d-i.
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inInstaller, INSTALLER_PATH, NO_CHROOT, useInstallerRoot } from '../helpers/installer-root.js';
import { runCli, tempDir } from '../helpers/project.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@example';
const installer = useInstallerRoot();

// Each stub appends its command line to /calls.log, then runs `then` (shell); `chroot /target
// id -nG USER` answers that USER is in group sudo, as the installer leaves the first user
// without a root password.
const recorder = (then = '') => `#!/bin/sh
echo "$(basename "$0") $*" >> /calls.log
${then}[ "$2" = id ] && echo "$4 sudo"
exit 0
`;

interface LateRun {
  exitCode: number | undefined;
  calls: string[];
  target: (path: string) => string;
}

async function runLate(configYaml: string, inTarget = recorder()): Promise<LateRun> {
  const root = installer.dir;
  const work = await tempDir();
  const config = join(work, 'iso.config.yaml');
  await writeFile(config, configYaml);
  const r = await runCli(['build', '--config', config, '--render-only', join(work, 'rendered')]);
  expect(r.exitCode, r.stderr).toBe(0);

  for (const dir of ['vultr-sid-iso', 'target', 'stub', 'calls.log']) await rm(join(root, dir), { recursive: true, force: true });
  await cp(join(work, 'rendered'), join(root, 'vultr-sid-iso'), { recursive: true });
  // What the installer leaves in /target before the late command: deb822 sources, and
  // sudoers.d with Debian's mode.
  await mkdir(join(root, 'target/etc/apt/sources.list.d'), { recursive: true });
  await writeFile(join(root, 'target/etc/apt/sources.list.d/debian.sources'), 'Types: deb\nSuites: trixie\n');
  await writeFile(join(root, 'target/etc/apt/sources.list'), '# See /etc/apt/sources.list.d/debian.sources\n');
  await mkdir(join(root, 'target/etc/sudoers.d'), { recursive: true, mode: 0o750 });
  await mkdir(join(root, 'stub'));
  await writeFile(join(root, 'stub/in-target'), inTarget, { mode: 0o755 });
  await writeFile(join(root, 'stub/chroot'), recorder(), { mode: 0o755 });

  const run = await inInstaller(root, 'sh /vultr-sid-iso/installer/late.sh', `/stub:${INSTALLER_PATH}`);
  expect(run.stderr).toBe('');
  const calls = (await readFile(join(root, 'calls.log'), 'utf8')).trimEnd().split('\n');
  return { exitCode: run.exitCode, calls, target: (path) => join(root, 'target', path) };
}

const mode = async (path: string) => (await stat(path)).mode & 0o7777;

describe.skipIf(NO_CHROOT)("the late command, under the installer's busybox", () => {
  it('places our files, seeds cloud-init, moves apt to unstable and installs the packages', async () => {
    const late = await runLate('name: vultr-sid\n');
    expect(late.exitCode).toBe(0);
    expect(await mode(late.target('usr/local/sbin/vultr-sid-ipv6'))).toBe(0o755);
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
      'in-target apt-get update',
      'in-target sh -c DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confold full-upgrade',
      'in-target sh -c DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confold install "$@" sh docker.io ndppd cloud-init openssh-server python3 iproute2 nftables sudo ca-certificates',
      'in-target systemctl enable vultr-sid-metadata-guard.service vultr-sid-ipv6.service vultr-sid-ipv6-recheck.timer vultr-sid-docker-network.service',
      'in-target systemctl enable ndppd.service vultr-sid-ndp-proxy.service',
    ]);
  });

  it('hands the SSH keys to the admin, takes them out of group sudo for sudo: none, and disables ndppd when asked', async () => {
    const late = await runLate(
      `admin:\n  username: ops\n  sshAuthorizedKeys: ["${KEY}"]\n  sudo: none\nndppd:\n  enabled: false\ninstaller:\n  packages: [vim]\n`,
    );
    expect(late.exitCode).toBe(0);
    expect(await readFile(late.target('home/ops/.ssh/authorized_keys'), 'utf8')).toBe(`${KEY}\n`);
    expect(await mode(late.target('home/ops/.ssh'))).toBe(0o700);
    expect(await mode(late.target('home/ops/.ssh/authorized_keys'))).toBe(0o600);
    expect(late.calls).toContain('in-target chown -R ops:ops /home/ops/.ssh');
    expect(late.calls).toContain('chroot /target id -nG ops');
    expect(late.calls).toContain('chroot /target gpasswd -d ops sudo');
    expect(late.calls.find((c) => c.includes(' install '))).toMatch(/ ca-certificates vim$/);
    expect(late.calls.at(-1)).toBe('in-target systemctl disable ndppd.service vultr-sid-ndp-proxy.service');
  });

  it('stops at the first command that fails (set -e), so a broken install never powers off as done', async () => {
    const late = await runLate('name: vultr-sid\n', recorder('[ "$1" = apt-get ] && exit 100\n'));
    expect(late.exitCode).toBe(100);
    expect(late.calls).toEqual(['in-target apt-get update']);
  });
});
