// The preseed and our files go into the installer's initrd as one extra gzip'd newc member
// appended to a copy of Debian's initrd.gz: the kernel unpacks each member in turn and the
// original is never decompressed or recompressed (the initramfs format allows any number
// of members: https://docs.kernel.org/driver-api/early-userspace/buffer-format.html).
import type { Artifacts } from '../render/artifacts.js';
import { writeNewc, type CpioEntry } from './cpio.js';
import { gzipDeterministic } from './gzip-members.js';

/**
 * The initrd our boot entries use: Debian's, plus the overlay member. Debian's own stays
 * untouched for its menu entries, because d-i loads /preseed.cfg from any initrd that has
 * one: a shared initrd would turn "manual install" into ours and make "rescue" meet the
 * data-loss guard, which powers off. 8.3 names, so even a reader without Rock Ridge finds it.
 */
export const AUTO_INITRD = '/vultr/initrd.gz';

/** Where the artifacts sit inside the installer's root filesystem. */
export const OVERLAY_DIR = 'vultr-sid-iso';

export function overlayEntries(artifacts: Artifacts): CpioEntry[] {
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const addDirs = (path: string) => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) {
        dirs.add(dir);
        entries.push({ path: dir, mode: 0o755 });
      }
    }
  };
  const preseed = artifacts.get('preseed.cfg');
  if (!preseed) throw new Error('no preseed.cfg among the rendered files');
  // d-i's initrd-preseed loads /preseed.cfg from the initrd root before the first question.
  entries.push({ path: 'preseed.cfg', mode: 0o644, data: preseed.data });
  for (const [rel, a] of artifacts) {
    if (rel === 'preseed.cfg') continue;
    const path = `${OVERLAY_DIR}/${rel}`;
    addDirs(path);
    entries.push({ path, mode: a.mode, data: a.data });
  }
  return entries;
}

/** The gzip member to append to an installer initrd. */
export function overlayMember(artifacts: Artifacts, mtime: number): Buffer {
  return gzipDeterministic(writeNewc(overlayEntries(artifacts), mtime));
}
