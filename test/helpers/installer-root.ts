// The Debian installer's own userland, for running our installer scripts under the tools they
// meet in d-i (busybox sh and applets, util-linux's blkid, di-utils): the initrd of the
// pinned debian-installer package the fixtures use, unpacked once per test file and entered
// with chroot, which needs root: as another user the files that use it are skipped, and say so.
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { debianPackages } from './fixtures.js';

const INITRD = 'usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/initrd.gz';

/** Why the installer's userland cannot be entered here (chroot needs root), or undefined. */
export const NO_CHROOT = process.getuid?.() === 0 ? undefined : 'they chroot into the d-i initrd, which needs root (npm test runs as root)';
if (NO_CHROOT) console.warn(`skipped: the tests of our installer scripts under d-i's busybox, because ${NO_CHROOT}`);

/** d-i's PATH. */
export const INSTALLER_PATH = '/sbin:/bin:/usr/sbin:/usr/bin';

export function useInstallerRoot(): { readonly dir: string } {
  const root = { dir: '' };
  beforeAll(async () => {
    if (NO_CHROOT) return;
    const initrd = join(await debianPackages(), INITRD);
    root.dir = await mkdtemp(join(tmpdir(), 'vsi-d-i-'));
    await execa('sh', ['-c', 'zcat "$1" | cpio -id --quiet 2>/dev/null', 'sh', initrd], { cwd: root.dir });
  });
  afterAll(() => (root.dir ? rm(root.dir, { recursive: true, force: true }) : undefined));
  return root;
}

/** The installer's /bin/sh runs `script` inside `root`, finding commands only through `path`. */
export function inInstaller(root: string, script: string, path: string, ...args: string[]) {
  return execa('chroot', [root, '/bin/sh', '-c', `PATH="$0"; ${script}`, path, ...args], { reject: false, env: { LC_ALL: 'C' } });
}
