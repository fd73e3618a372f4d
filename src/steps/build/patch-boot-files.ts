// Extract the few files we read or change (Debian's initrd, the boot menus, the checksum
// lists), write our initrd, GRUB's BIOS image and configs, and the new versions into a
// scratch directory that is always removed afterwards.
import { createHash } from 'node:crypto';
import { appendFile, chmod, copyFile, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hashFile } from '../../files/hash-file.js';
import { biosConfig, grubConfig, isolinuxConfig } from '../../iso/boot-menus.js';
import { GRUB_BIOS_CONFIG, GRUB_BIOS_IMAGE, GRUB_DECIDE_CONFIG, GRUB_DIR } from '../../iso/grub-config.js';
import { patchChecksumList } from '../../iso/checksum-list.js';
import { AUTO_INITRD, overlayMember } from '../../iso/initrd-overlay.js';
import { GRUB_BIOS_IMAGE_FILE, GRUB_DECIDE_FILE } from '../../paths.js';
import type { Step } from '../../pipeline/runner.js';
import { extractFiles } from '../../systems/xorriso.js';
import type { BuildState } from './state.js';

export const patchBootFiles: Step<BuildState> = {
  title: 'Patch initrd, boot menus and checksum lists',
  async run(state, { signal }) {
    const layout = state.layout!;
    const config = state.config!;
    const work = await mkdtemp(join(tmpdir(), 'vultr-sid-iso-'));
    state.workDir = work;
    const lists = layout.checksumLists;
    const wanted = [layout.initrd, layout.biosMenu, layout.uefiMenu, ...lists.map((l) => l.path)];
    await extractFiles(state.base!.path, wanted, work, { signal });
    const local = (isoPath: string) => join(work, isoPath);
    for (const p of wanted) await chmod(local(p), 0o644); // xorriso extracts read-only

    // A copy with our member appended, never recompressed; Debian's initrd keeps serving its
    // own menu entries (see AUTO_INITRD).
    await mkdir(dirname(local(AUTO_INITRD)), { recursive: true });
    await copyFile(local(layout.initrd), local(AUTO_INITRD));
    await appendFile(local(AUTO_INITRD), overlayMember(state.artifacts!, state.sourceDateEpoch!));
    await writeFile(local(layout.biosMenu), isolinuxConfig(layout, config.boot));
    const originalGrub = await readFile(local(layout.uefiMenu), 'utf8');
    await writeFile(local(layout.uefiMenu), grubConfig(layout, config.boot, originalGrub));
    // The default entry's decision: GRUB for BIOS (ISOLINUX starts it), and its configs.
    const defaultEntry = state.bootEntries!.find((e) => e.default)!;
    await mkdir(local(GRUB_DIR), { recursive: true });
    await copyFile(GRUB_BIOS_IMAGE_FILE, local(GRUB_BIOS_IMAGE));
    await writeFile(local(GRUB_BIOS_CONFIG), biosConfig(defaultEntry, config.boot.serialConsole));
    await copyFile(GRUB_DECIDE_FILE, local(GRUB_DECIDE_CONFIG));

    const ours = [AUTO_INITRD, GRUB_BIOS_IMAGE, GRUB_BIOS_CONFIG, GRUB_DECIDE_CONFIG, layout.biosMenu, layout.uefiMenu];
    // One read per file serves every list's algorithm and the sha256 that names the output.
    const algorithms = [...new Set(['sha256', ...lists.map((l) => l.algorithm)])];
    const digests = new Map<string, Record<string, string>>();
    for (const p of ours) digests.set(p, await hashFile(local(p), algorithms));
    for (const list of lists) {
      const sums = new Map(ours.map((p) => [p, digests.get(p)![list.algorithm]!]));
      await writeFile(local(list.path), patchChecksumList(await readFile(local(list.path), 'utf8'), sums));
    }
    for (const list of lists) digests.set(list.path, await hashFile(local(list.path), ['sha256']));
    const changed = [...digests.keys()];
    // Dates come from the base ISO so the output does not depend on the clock; our directory
    // is mapped as a whole, or xorriso would date (and mode) its subdirectories itself.
    const ourDir = dirname(AUTO_INITRD);
    for (const p of [...changed, GRUB_DIR, ourDir]) await utimes(local(p), state.sourceDateEpoch!, state.sourceDateEpoch!);
    await chmod(local(GRUB_DIR), 0o755);
    await chmod(local(ourDir), 0o755);
    // Every byte this build adds or changes names the output (with the base image and the tool
    // versions): a change in how a menu is written changes the name as surely as a config does.
    const added = createHash('sha256');
    for (const p of [...changed].sort()) added.update(`${p}\0${digests.get(p)!.sha256}\0`);
    state.addedFilesDigest = added.digest('hex');
    state.replacements = [ourDir, ...changed.filter((p) => !p.startsWith(`${ourDir}/`))].map((isoPath) => ({ localPath: local(isoPath), isoPath }));
    return `${changed.length} files`;
  },
  async cleanup(state) {
    if (state.workDir) await rm(state.workDir, { recursive: true, force: true });
  },
};
