// The install gate's own input handling and its reading of d-i's serial console. The gate
// itself (a full d-i install) needs a full Debian mirror and runs in the nightly; its checks of
// the installed system run on the lab's VM (test/system/ipv6-only-instance).
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gateRows, runGate } from '../../scripts/lab/install-gate.js';
import { CheckFailed } from '../../scripts/lab/installed-checks.js';
import { INSTALL_DONE, installerStop } from '../../scripts/lab/installer-progress.js';
import { ROOT } from '../helpers/project.js';

const SCRIPT = join(ROOT, 'dist/scripts/install-check.js');

describe('install-check', () => {
  it('bad input: one line naming it, exit 2, nothing started', async () => {
    for (const [args, says] of [
      [['/nonexistent/vultr-sid.iso'], /\/nonexistent\/vultr-sid\.iso does not exist; pass the path of a built ISO/],
      [[], /missing required argument 'iso'; see install-check --help/],
      [[SCRIPT, SCRIPT], /too many arguments/],
      [['--admin=-oProxyCommand=touch /tmp/x', SCRIPT], /'--admin <name>' argument '-oProxyCommand=touch \/tmp\/x' is invalid\. not a user name/],
      [['--firmware', 'arm', SCRIPT], /'--firmware <firmware>' argument 'arm' is invalid\. Allowed choices are bios, uefi/],
      // Node's own parseArgs message had an unbalanced quote ('-- "--help").
      [['--bogus', SCRIPT], /^install-check: unknown option '--bogus'[^"]*; see install-check --help$/],
    ] as const) {
      const r = await execa(process.execPath, [SCRIPT, ...args], { reject: false });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(says);
    }
  });

  it('--help prints its usage and exits 0, starting nothing', async () => {
    const r = await execa(process.execPath, [SCRIPT, '--help'], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: install-check \[options\] <iso>/);
    expect(r.stderr).toBe('');
  });

  it('names the installer component d-i could not load, through the escapes of its serial screen', () => {
    // As d-i's newt frontend paints the error on a serial console (cursor moves, colours).
    const serial = 'vultr-sid-iso: preseed loaded\r\n\x1b[1;1H\x1b[37m\x1b[44m  [!!] Download installer components\x1b[10;5H Failed to load installer component \x1b[12;5HLoading\x1b[0m libc6-udeb failed for unknown reasons. Aborting.';
    expect(installerStop(serial)).toBe('the installer could not load libc6-udeb ("Loading libc6-udeb failed for unknown reasons")');
    // net-retriever's screen names no file: the progress line before it does.
    const download = '\x1b[9;3HLoading additional components\x1b[12;5HRetrieving apt-mirror-setup\x1b[0m\r\n\x1b[5;3H[!!] Download installer components\x1b[8;3HThe installer failed to download a file from the mirror.\x1b[14;3HDownloading a file failed:';
    expect(installerStop(download)).toBe('the installer could not download apt-mirror-setup from the mirror ("Downloading a file failed")');
    expect(installerStop('[!!] Choose a mirror of the Debian archive\r\n\x1b[5;3HBad archive mirror')).toBe('the installer stopped: "Bad archive mirror"');
  });

  it("names it from the installer's log, which is what the serial line carries with the screen as the main console (a real stand-in boot)", async () => {
    // test/fixtures/installer-serial/SOURCE.txt: the installer could not fetch a udeb (404).
    const serial = await readFile(join(ROOT, 'test/fixtures/installer-serial/netinst-standin-404.log'), 'latin1');
    expect(installerStop(serial)).toBe('the installer could not download apt-mirror-setup from the mirror (anna: "package retrieval failed", ERROR 404: Not Found)');
    // The control: the same log up to the line before the failure is still installing.
    expect(installerStop(serial.slice(0, serial.indexOf('WARNING **: package retrieval failed')))).toBeUndefined();
  });

  it("names our late command's ends other than complete: a failed install and one with parts missing", () => {
    expect(installerStop('vultr-sid-iso: install failed: openssh-server cloud-init could not be installed (E: Failed to fetch x)\r\nvultr-sid-iso: /dev/vda wiped')).toBe(
      'the install failed: openssh-server cloud-init could not be installed (E: Failed to fetch x)',
    );
    expect(installerStop('vultr-sid-iso: install finished with parts missing: packages failed: docker.io could not be installed (E: x)\r\n')).toBe(
      'the install finished with parts missing: packages failed: docker.io could not be installed (E: x)',
    );
  });

  it('the control: a console that is still installing, or done, is no stop', () => {
    expect(installerStop('vultr-sid-iso: preseed loaded\r\nRetrieving libc6-udeb\r\nInstalling the base system')).toBeUndefined();
    expect(installerStop(`vultr-sid-iso: installing openssh-server cloud-init (what makes the VM reachable)\r\n${INSTALL_DONE}; rebooting into the installed system`)).toBeUndefined();
  });
});

describe("the gate's run of its checks (scripts/lab/install-gate.ts; the checks themselves run on the lab's VM)", () => {
  it('a failed check fails the gate and is reported, and the checks after it still run', async () => {
    const ran: string[] = [];
    const step = (name: string, outcome: string | Error) => ({
      name,
      run: async () => {
        ran.push(name);
        if (outcome instanceof Error) throw outcome;
        return outcome;
      },
    });
    const log: string[] = [];
    const results = await runGate([step('one', 'fine'), step('two', new CheckFailed('the port | did not answer\nmore')), step('three', 'fine too')], (l) => log.push(l));
    expect(ran).toEqual(['one', 'two', 'three']);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(log).toEqual(['PASS one (0 s): fine', 'FAIL two (0 s): the port | did not answer\nmore', 'PASS three (0 s): fine too']);
    // One table row each; a | in what a check saw does not split its row.
    expect(gateRows(results)).toEqual(['| ✅ | one | fine |', '| ❌ | two | the port \\| did not answer |', '| ✅ | three | fine too |']);
  });
});
