// The Debian installer's own userland, for running our installer scripts under the tools they
// meet in d-i (busybox sh and applets, util-linux's blkid, di-utils): the initrd of the
// pinned debian-installer package the fixtures use, unpacked once per test file and entered
// with chroot.
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ROOT } from './project.js';

const INITRD = join(ROOT, 'iso/cache/debs/root/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/initrd.gz');

/** d-i's PATH. */
export const INSTALLER_PATH = '/sbin:/bin:/usr/sbin:/usr/bin';

export function useInstallerRoot(): { readonly dir: string } {
  const root = { dir: '' };
  beforeAll(async () => {
    root.dir = await mkdtemp(join(tmpdir(), 'vsi-d-i-'));
    await execa('sh', ['-c', 'zcat "$1" | cpio -id --quiet 2>/dev/null', 'sh', INITRD], { cwd: root.dir });
  });
  afterAll(() => rm(root.dir, { recursive: true, force: true }));
  return root;
}

/** The installer's /bin/sh runs `script` inside `root`, finding commands only through `path`. */
export function inInstaller(root: string, script: string, path: string, ...args: string[]) {
  return execa('chroot', [root, '/bin/sh', '-c', `PATH="$0"; ${script}`, path, ...args], { reject: false, env: { LC_ALL: 'C' } });
}
