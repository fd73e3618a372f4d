// An install that goes wrong never strands a VM (DESIGN: "An install never strands a VM"):
// the ISO's own rendered late.sh, run as the lab runs it (scripts/lab/sid-disk.ts: a sid root
// with what the installer installs, late.sh under busybox), against a package source that
// fails the way a mirror does (scripts/lab/apt-fault-proxy.ts):
//   (c) has nothing, and the installer wrote a systemd-networkd configuration: the install
//       fails visibly (every console says why, the disk it partitioned is wiped, it never
//       reboots into the half-made system) and the network configuration is refused. No boot.
//   (b) has no docker.io: the VM boots, the key from Vultr's metadata (cloud-init) logs in, the
//       console and the login say what is missing, and so does the one command while the
//       mirror is out of reach (with VSI_LAB_COMPLETE=1, it then completes the install).
//       Its own lab and VM (no Docker: a quick boot), while the main lab runs in the other
//       worker.
//   (a) fails once, then works: late.sh tries again and the install is complete. That is the
//       main lab disk, which installed-system.slow.test.ts boots; here only what late.sh did
//       (last: by then the main lab has built it).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as checks from '../../scripts/lab/installed-checks.js';
import { failedInstall, labKey, sidDisk } from '../../scripts/lab/sid-disk.js';
import { VultrLab } from '../../scripts/lab/vultr-lab.js';
import { vultrMetadata } from '../../scripts/lab/vultr-metadata.js';

const INSTANCE = '6b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b';
/** A first boot without Docker under TCG, on a machine the main lab shares. */
const BOOT_MS = 20 * 60_000;
const BUILD_MS = 30 * 60_000;

describe.sequential('an install that goes wrong never strands a VM', () => {
  let dir: string | undefined;
  let lab: VultrLab | undefined;

  afterAll(async () => {
    await lab?.down();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('(c) a package source with nothing: the install fails on every console, wipes the disk it partitioned and never reboots; the systemd-networkd configuration is refused', { timeout: BUILD_MS }, async () => {
    const run = await failedInstall({ log: (l) => console.log(l) });
    expect(run.requests.length).toBeGreaterThan(0);
    expect(run.requests.every((r) => r.action === 'refused')).toBe(true);
    expect(run.console).toContainEqual(expect.stringMatching(/^network: failed: unsupported network configuration: systemd-networkd configures the network \(\/etc\/systemd\/network\/10-enp1s0\.network\); vultr-sid-ipv6 supports ifupdown/));
    const failure = run.console.find((l) => l.startsWith('install failed: '));
    expect(failure).toMatch(/^install failed: openssh-server cloud-init could not be installed \(E: .+\)$/);
    expect(run.status.essentials).toBe(`failed: ${failure!.slice('install failed: '.length)}`);
    expect(run.console).toContain('the install stops here rather than leave a VM nobody can reach or one not as configured; the half-made system is not left bootable');
    expect(run.console).toContainEqual(expect.stringMatching(/^\/dev\/loop\d+ wiped: nothing on it boots; with the ISO attached, the next start installs afresh$/));
    expect(run.console.at(-1)).toMatch(/^restart the VM to install again \(/);
    expect(run.console.some((l) => l.includes('rebooting'))).toBe(false);
    // The disk had a partition table before (the control) and has nothing after.
    expect(run.wipe?.[0]).toMatch(/^before: .*PTTYPE=dos/);
    expect(run.wipe?.[1]).toBe('after: ');
  });

  it('(b) a package source without docker.io: the VM boots, the metadata key logs in, the console, the login and vultr-sid-complete say what is missing', { timeout: BUILD_MS + BOOT_MS + 20 * 60_000 }, async () => {
    const disk = await sidDisk({ variant: 'no-docker', log: (l) => console.log(l) });
    // The control: docker.io's package was asked for and refused, and nothing else was.
    const refused = disk.requests.filter((r) => r.action === 'refused').map((r) => r.url);
    expect(refused.length).toBeGreaterThan(0);
    for (const url of refused) expect(url).toMatch(/\/pool\/main\/d\/docker\.io\/docker\.io_[^/]+\.deb$/);
    expect(disk.status.packages).toMatch(/^failed: docker\.io could not be installed \(E: /);
    expect(disk.packages.has('docker.io')).toBe(false);
    expect(disk.packages.has('cloud-init') && disk.packages.has('ndppd') && disk.packages.has('nftables')).toBe(true);

    dir = await mkdtemp(join(tmpdir(), 'vsi-partial-'));
    const metaKey = await labKey(join(dir, 'keys'), 'metadata');
    // A way out to Debian's mirror only for the completion, which VSI_LAB_COMPLETE=1 asks for,
    // and closed at the router until the completion command's turn.
    lab = await VultrLab.up(dir, { internet: process.env.VSI_LAB_COMPLETE === '1' });
    await lab.router(['nft', 'add table inet vsi_block; add chain inet vsi_block outward { type filter hook forward priority 0; }; add rule inet vsi_block outward oifname "up0" reject']);
    await lab.setMetadata(vultrMetadata({ instanceId: INSTANCE, hostname: 'partial', publicKeys: [(await readFile(`${metaKey}.pub`, 'utf8')).trim()] }));
    const started = Date.now();
    // The lab's short retries for the boot unit too (the variable late.sh documents).
    const vm = await lab.boot({ name: 'partial', disk: disk.disk, direct: { kernel: disk.kernel, initrd: disk.initrd, append: `${disk.append} systemd.setenv=VSI_RETRY_SECONDS=1` }, instanceId: INSTANCE });
    const target: checks.Target = { lab, vm, admin: 'debian', key: metaKey, expectedPrefix: '' };
    await vm.waitForSsh(metaKey, 'debian', BOOT_MS);
    const reachable = Math.round((Date.now() - started) / 1000);
    console.log(`(b) SSH with the metadata key ${reachable} s after QEMU started`);

    // The boot unit tried (the mirror unreachable) and said so on the console, as the login screen does.
    await vm.waitForSerial(/vultr-sid-iso: this install is still incomplete: /, 10 * 60_000);
    const serial = (await vm.serial()).replace(/\r/g, '');
    expect(serial).toMatch(/vultr-sid-iso: this install is still incomplete: packages failed: docker\.io could not be installed \(E: Failed to fetch .*\); units waiting: for docker\.io \(our units need the packages\)\. Complete it with: sudo \/usr\/local\/sbin\/vultr-sid-complete \(it is also tried at every boot\)$/m);
    const unit = await vm.ssh(metaKey, 'debian', 'sudo journalctl -b -u vultr-sid-complete -o cat --no-pager');
    expect(unit.stdout).toMatch(/^vultr-sid-iso: this install is incomplete: packages failed: docker\.io .*; trying to complete it now$/m);
    expect(serial).toMatch(/vultr-sid-iso: this install is incomplete: packages failed: docker\.io[^\n]*\nComplete it with: sudo \/usr\/local\/sbin\/vultr-sid-complete \(it is also tried at every boot\)\n[\s\S]*partial login: /);
    console.log(await checks.consolesOnScreen(target));
    console.log(await checks.networkConfigSupported(target));
    const status = await checks.installStatus(target);
    expect(status.exitCode).toBe(1);
    expect(status.text).toMatch(/^vultr-sid-iso install: partial /);
    expect(status.text).toMatch(/^ {2}packages {4}failed: docker\.io could not be installed/m);
    expect(status.text.split('\n').at(-1)).toBe('Complete it with: sudo /usr/local/sbin/vultr-sid-complete');
    const login = await checks.loginMessage(target);
    expect(login).toMatch(/^vultr-sid-iso: this install is incomplete: packages failed: docker\.io.*\nComplete it with: sudo \/usr\/local\/sbin\/vultr-sid-complete\n/m);

    // The one command, as the notes give it (sudo's secure_path has no /usr/local): with the
    // mirror still out of reach it says what is still missing, and exits 1.
    const again = await vm.ssh(metaKey, 'debian', 'sudo /usr/local/sbin/vultr-sid-complete units');
    expect(again.exitCode, again.stderr).toBe(1);
    expect(again.stderr.trim().split('\n').at(-1)).toMatch(/^vultr-sid-iso: this install is still incomplete: packages failed: docker\.io .*; units waiting: for docker\.io/);

    // With the mirror reachable it completes the install and starts Docker in order. Under TCG
    // that is minutes of dpkg (359 s measured), beyond npm test's budget: VSI_LAB_COMPLETE=1 runs it.
    if (process.env.VSI_LAB_COMPLETE !== '1') return;
    await lab.router(['nft', 'delete table inet vsi_block']);
    const completing = Date.now();
    const done = await vm.ssh(metaKey, 'debian', 'sudo /usr/local/sbin/vultr-sid-complete', { timeoutMs: 20 * 60_000 });
    expect(done.exitCode, `${done.stdout}\n${done.stderr}`).toBe(0);
    expect(done.stderr.trim().split('\n').at(-1)).toBe('vultr-sid-iso: the install is complete');
    console.log(`(b) vultr-sid-complete took ${Math.round((Date.now() - completing) / 1000)} s`);
    console.log(await checks.installComplete(target, { completedThisBoot: true }));
    expect(await checks.loginMessage(target)).not.toMatch(/this install is incomplete/);
    for (let i = 0; ; i++) {
      const r = await vm.ssh(metaKey, 'debian', 'systemctl is-active docker vultr-sid-metadata-guard vultr-sid-ipv6');
      if (r.stdout.trim().split('\n').every((state) => state === 'active')) break;
      expect(i, `Docker and our units did not start after the completion: ${r.stdout.trim()}`).toBeLessThan(60);
      await new Promise((res) => setTimeout(res, 5000));
    }
  });

  it('(a) a package source that fails once: late.sh tries again with fresh lists, and the install is complete', { timeout: BUILD_MS }, async () => {
    const disk = await sidDisk({ log: (l) => console.log(l) });
    // The control: the fault really happened, on the package it was meant for.
    const failed = disk.requests.filter((r) => r.action === 'failed-once');
    expect(failed.map((r) => r.url)).toEqual([expect.stringMatching(/\/pool\/main\/c\/cloud-init\/cloud-init_[^/]+\.deb$/)]);
    expect(disk.console).toContainEqual(expect.stringMatching(/^installing openssh-server cloud-init failed \(attempt 1 of 4: E: Failed to fetch \S+cloud-init_\S+\.deb {2}404 {2}Not Found.*\); trying again in 1 s$/));
    expect(disk.status).toMatchObject({ essentials: 'done', upgrade: 'done', packages: 'done', units: 'done', network: 'done: ifupdown: enp1s0 (inet dhcp, inet6 auto)' });
    expect(disk.console.at(-1)).toBe('install complete; rebooting into the installed system');
    console.log(`(a) ${failed.length} injected failure, ${disk.requests.length} requests; late.sh said:\n  ${disk.console.join('\n  ')}`);
  });
});
