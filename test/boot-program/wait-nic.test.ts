// vultr-sid-wait-nic (before cloud-init's first stage) against a sysfs tree of the test's own:
// it waits for a hardware NIC that udev has named, and gives up in time, never failing the boot.
import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/project.js';

const SCRIPT = join(ROOT, 'templates/rootfs/usr/local/sbin/vultr-sid-wait-nic');

/** /sys/class/net/NAME as the kernel shows it: `device` for hardware, name_assign_type (1 kernel's name, 4 renamed by udev). */
async function nic(sysfs: string, name: string, assign: number, hardware = true): Promise<void> {
  const dir = join(sysfs, 'class/net', name);
  await mkdir(hardware ? join(dir, 'device') : dir, { recursive: true });
  await writeFile(join(dir, 'name_assign_type'), `${assign}\n`);
}

/** The script on that tree, with a kernel command line of the test's own (not this machine's). */
async function run(sysfs: string, seconds: number, cmdline = 'root=/dev/vda1 ro') {
  await writeFile(join(sysfs, 'cmdline'), `${cmdline}\n`);
  return execa('sh', [SCRIPT], { env: { VULTR_SID_SYSFS: sysfs, VULTR_SID_CMDLINE: join(sysfs, 'cmdline'), VULTR_SID_WAIT_NIC_SECONDS: String(seconds) }, reject: false });
}

describe('vultr-sid-wait-nic', () => {
  it('is done at once when udev has already named the NIC', async () => {
    const sysfs = await tempDir();
    await nic(sysfs, 'lo', 1, false);
    await nic(sysfs, 'enp1s0', 4);
    const r = await run(sysfs, 5);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('vultr-sid-wait-nic: enp1s0 is ready (after 0 s)');
  });

  it('waits while the NIC still has the kernel\'s name, and goes on when udev renames it', { timeout: 30_000 }, async () => {
    const sysfs = await tempDir();
    await nic(sysfs, 'lo', 1, false);
    await nic(sysfs, 'eth0', 1);
    const waiting = run(sysfs, 20);
    await new Promise((r) => setTimeout(r, 2500));
    await nic(sysfs, 'enp1s0', 4);
    const r = await waiting;
    expect(r.exitCode).toBe(0);
    // enp1s0, not eth0: it waited past the rename (how long depends on the machine's load).
    expect(r.stdout).toMatch(/^vultr-sid-wait-nic: enp1s0 is ready \(after \d+ s\)$/);
  });

  it('gives up after its limit with one line and exit 0: cloud-init decides then, as before', { timeout: 30_000 }, async () => {
    const sysfs = await tempDir();
    await nic(sysfs, 'lo', 1, false);
    await nic(sysfs, 'eth0', 1);
    const r = await run(sysfs, 2);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("vultr-sid-wait-nic: no network interface with its final name after 2 s; cloud-init may not reach Vultr's metadata");
  });

  it('with net.ifnames=0 the kernel\'s name is final', async () => {
    const sysfs = await tempDir();
    await nic(sysfs, 'eth0', 1);
    const r = await run(sysfs, 5, 'root=/dev/vda1 net.ifnames=0 ro');
    expect(r.stdout).toBe('vultr-sid-wait-nic: eth0 is ready (after 0 s)');
  });
});
