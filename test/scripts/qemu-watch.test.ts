// The console watcher's reading of real kernel consoles: what died, where, and whether init had
// started; a console gone quiet before the system came up; which deaths the harness may retry.
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ConsoleWatch, deathOnConsole, describeDeath, harnessMayRetry } from '../../scripts/qemu-watch.js';
import { tempDir } from '../helpers/project.js';

// The issue's Oops in the sid kernel 7.2.13's format (put together from the issue's report and a
// real 7.2.13 console: the lines the watcher reads).
const OOPS_BEFORE_INIT = `[    0.000000] Linux version 7.2.13+deb14-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 7.2.13-1 (2026-10-28)
[    2.487091] tsc: Refined TSC clocksource calibration: 2095.998 MHz
[    2.549353] clocksource: Switched to clocksource tsc
[    2.551032] Oops: int3: 0000 [#1] SMP NOPTI
[    2.551100] CPU: 1 UID: 0 PID: 0 Comm: swapper/1 Not tainted 7.2.13+deb14-amd64 #1 PREEMPT(lazy)  Debian 7.2.13-1
[    2.551200] RIP: 0010:ktime_get_update_offsets_now+0x4d/0x110
[    2.551300] Code: 0f 1f 44 00 00 <1f> 44 00 00
[    2.552000] Kernel panic - not syncing: Fatal exception in interrupt
`;

// Debian's installer kernel with no root file system (the dead-boot test's deliberate panic).
const PANIC_NO_ROOT = `[    0.000000] Linux version 6.1.0-40-amd64 (debian-kernel@lists.debian.org)
[    1.900081] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)
[    1.901047] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-40-amd64 #1  Debian 6.1.153-1
[    1.902058] Call Trace:
[    1.902892]  <TASK>
[    1.903290]  dump_stack_lvl+0x44/0x5c
[    1.903788]  panic+0x118/0x2ed
[    1.904010]  mount_block_root+0x1d3/0x1e6
[    1.904179]  prepare_namespace+0x136/0x165
`;

const AFTER_INIT = `[    0.000000] Linux version 7.2.13+deb14-amd64
[    5.301881] Run /init as init process
[   17.596962] systemd[1]: systemd 262.1-1 running in system mode
[   40.100000] BUG: kernel NULL pointer dereference, address: 0000000000000008
[   40.100100] Oops: Oops: 0002 [#1] SMP NOPTI
[   40.100200] RIP: 0010:nft_do_chain+0x1a/0x5c0 [nf_tables]
`;

describe('deathOnConsole', () => {
  it('names the Oops, the function it hit and the panic that followed; before init', () => {
    const death = deathOnConsole(OOPS_BEFORE_INIT)!;
    expect(death).toEqual({ kind: 'oops', what: 'Oops: int3: 0000 [#1] SMP NOPTI, then Kernel panic - not syncing: Fatal exception in interrupt', where: 'ktime_get_update_offsets_now+0x4d/0x110', beforeInit: true, bootAt: 0 });
    expect(describeDeath('lab VM vm', death, 2800)).toBe(
      'lab VM vm died 3 s after QEMU started, before init started: Oops: int3: 0000 [#1] SMP NOPTI, then Kernel panic - not syncing: Fatal exception in interrupt in ktime_get_update_offsets_now+0x4d/0x110',
    );
  });

  it('names a panic without an Oops by its caller, past the panic plumbing', () => {
    expect(deathOnConsole(PANIC_NO_ROOT)).toEqual({ kind: 'panic', what: 'Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)', where: 'mount_block_root+0x1d3/0x1e6', beforeInit: true, bootAt: 0 });
  });

  it('knows a death after init started', () => {
    expect(deathOnConsole(AFTER_INIT)).toMatchObject({ kind: 'oops', where: 'nft_do_chain+0x1a/0x5c0', beforeInit: false });
  });

  it('a death counts though the guest has booted again since (panic=-1 in a QEMU that lets it reboot), and is placed in its own boot', () => {
    const healthy = '[    0.000000] Linux version 7.2.13+deb14-amd64\n[    5.3] Run /init as init process\n[   17.5] systemd[1]: systemd 262.1-1 running in system mode\n';
    const console = `${healthy}${OOPS_BEFORE_INIT}[    0.000000] Linux version 7.2.13+deb14-amd64\n[    5.3] Run /init as init process\n`;
    expect(deathOnConsole(console)).toMatchObject({ kind: 'oops', where: 'ktime_get_update_offsets_now+0x4d/0x110', beforeInit: true, bootAt: healthy.length });
  });

  it('sees nothing on a healthy console (the control)', () => {
    expect(deathOnConsole(AFTER_INIT.split('\n').slice(0, 3).join('\n'))).toBeUndefined();
  });
});

describe('harnessMayRetry', () => {
  it('only a death before init, under TCG, and never a stall', () => {
    const oops = deathOnConsole(OOPS_BEFORE_INIT)!;
    expect(harnessMayRetry(oops, false)).toBe(true);
    expect(harnessMayRetry(oops, true)).toBe(false);
    expect(harnessMayRetry(deathOnConsole(AFTER_INIT)!, false)).toBe(false);
    expect(harnessMayRetry({ kind: 'stall', what: 'quiet', beforeInit: true, bootAt: 0 }, false)).toBe(false);
  });
});

describe('ConsoleWatch', () => {
  it('reads only what this QEMU wrote (a retried boot appends to the same log)', async () => {
    const log = join(await tempDir(), 'serial.log');
    await writeFile(log, OOPS_BEFORE_INIT);
    const watch = await ConsoleWatch.from(log);
    expect(await watch.check()).toBeUndefined();
    await appendFile(log, PANIC_NO_ROOT);
    expect((await watch.check())?.what).toMatch(/Unable to mount root fs/);
  });

  it('calls a console quiet for too long a stall, unless the system is up', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const log = join(await tempDir(), 'serial.log');
      await writeFile(log, '');
      const watch = await ConsoleWatch.from(log, { stallMs: 60_000 });
      await appendFile(log, '[    0.0] Linux version 7.2.13\n[    5.3] Run /init as init process\n');
      expect(await watch.check()).toBeUndefined();
      vi.advanceTimersByTime(59_000);
      expect(await watch.check()).toBeUndefined();
      vi.advanceTimersByTime(2_000);
      expect(await watch.check()).toEqual({ kind: 'stall', what: 'no console output for 61 s before the system came up', beforeInit: false, bootAt: 0 });
      // The prompt, and a kernel message right behind it on the same line (as the lab's consoles show it).
      await appendFile(log, 'lab-vm login: [  146.635114] cloud-init[493]: Cloud-init v. 26.2 running\n');
      expect(await watch.check()).toBeUndefined();
      vi.advanceTimersByTime(3_600_000);
      expect(await watch.check(), 'a console at its login prompt is quiet, not stalled').toBeUndefined();
      // By default, systemd's multi-user target counts as up too (a serial getty may never come).
      const quiet = await ConsoleWatch.from(log, { stallMs: 60_000 });
      await appendFile(log, '[    0.0] Linux version 7.2.13\n[  OK  ] Reached target \x1b[0;1;39mmulti-user.target\x1b[0m - Multi-User System.\n');
      expect(await quiet.check()).toBeUndefined();
      vi.advanceTimersByTime(3_600_000);
      expect(await quiet.check()).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
