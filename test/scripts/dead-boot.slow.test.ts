// A guest that dies ends its boot within seconds, with one line saying what died, where and
// when, in both harnesses (scripts/qemu-boot.ts and the lab's LabVm); a death before init gets
// the harness's one retry under TCG, a death after init none. The deaths are real kernels dying
// on purpose: Debian's installer kernel (from the stand-in ISO) with no root file system
// (panics before init), and with /bin/false as init (panics after init started).
import { execa } from 'execa';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestDied } from '../../scripts/qemu-boot.js';
import { VultrLab } from '../../scripts/lab/vultr-lab.js';
import { standinIso } from '../helpers/fixtures.js';
import { bootIso } from '../helpers/qemu.js';

/** What the tests would otherwise wait: a dead guest must end long before this. */
const WOULD_WAIT_MS = 30 * 60_000;
/** Two kernel boots to their panic take ~10 s under TCG; this leaves room for a slow machine. */
const ENDS_WITHIN_MS = 180_000;

let dir: string;
let kernel: string;
let initrd: string;
let iso: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vsi-dead-boot-'));
  iso = await standinIso('netinst');
  await execa('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/install.amd/vmlinuz', join(dir, 'vmlinuz'), '-extract', '/install.amd/initrd.gz', join(dir, 'initrd.gz')]);
  kernel = join(dir, 'vmlinuz');
  initrd = join(dir, 'initrd.gz');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

async function deathOf(run: () => Promise<unknown>): Promise<{ error: GuestDied; ms: number }> {
  const started = Date.now();
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the boot should have ended with GuestDied').toBeInstanceOf(GuestDied);
  return { error: error as GuestDied, ms: Date.now() - started };
}

describe('a boot that dies', () => {
  it('QEMU boot: a kernel that panics before init, rebooting forever, ends within seconds after one retry, with the reason', { timeout: ENDS_WITHIN_MS + 60_000 }, async () => {
    const work = join(dir, 'iso-boot');
    await mkdir(work);
    // `reboots`: QEMU never exits by itself here (panic=-1 reboots the guest, which panics
    // again), like a kernel that spins after its panic; only the watcher can end it.
    const { error, ms } = await deathOf(() =>
      bootIso(iso, { firmware: 'bios', workDir: work, reboots: true, direct: { kernel, append: 'console=ttyS0 root=/dev/vdz' }, until: /(?!)/, timeoutMs: WOULD_WAIT_MS }),
    );
    const [line, ...tail] = error.message.split('\n');
    expect(line).toMatch(/^the guest \(bios\) died \d+ s after QEMU started, before init started: Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block\(0,0\) in \S+\+0x/);
    expect(line).toMatch(/its first boot had died too: .*Unable to mount root fs/);
    expect(tail.join('\n')).toMatch(/Kernel panic - not syncing/);
    expect(ms).toBeLessThan(ENDS_WITHIN_MS);
  });

  it('lab VM: a kernel whose init exits panics after init started: no retry, and the wait for the console ends at once with the reason', { timeout: ENDS_WITHIN_MS + 60_000 }, async () => {
    const work = join(dir, 'lab');
    await mkdir(work);
    const disk = join(work, 'blank.img');
    await execa('truncate', ['-s', '64M', disk]);
    const lab = await VultrLab.up(work);
    try {
      const vm = await lab.boot({ name: 'dies', disk, instanceId: '0b9c3c9e-59f4-4f0e-8d5e-4a6b1b2c3d4e', direct: { kernel, initrd, append: 'console=ttyS0 rdinit=/bin/false' } });
      const { error, ms } = await deathOf(() => vm.waitForSerial(/login:/, WOULD_WAIT_MS));
      const [line] = error.message.split('\n');
      expect(line).toMatch(/^lab VM dies died \d+ s after QEMU started, after init started: Kernel panic - not syncing: Attempted to kill init!/);
      expect(vm.retried).toBeUndefined();
      expect(vm.running).toBe(false);
      // Every other wait on it fails the same way at once.
      await expect(vm.waitForSsh('/nonexistent', 'debian', WOULD_WAIT_MS)).rejects.toThrow(/Attempted to kill init/);
      expect(ms).toBeLessThan(ENDS_WITHIN_MS);
    } finally {
      await lab.down();
    }
  });
});
