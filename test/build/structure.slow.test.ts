// Builds real ISOs from the stand-ins with the real xorriso and reads them back.
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNewc } from '../../src/iso/cpio.js';
import { gzipMembers } from '../../src/iso/gzip-members.js';
import { GRUB_BIOS_CONFIG, GRUB_BIOS_IMAGE, GRUB_DECIDE_CONFIG } from '../../src/iso/grub-config.js';
import { AUTO_INITRD } from '../../src/iso/initrd-overlay.js';
import { documentedManifest, keyPaths } from '../helpers/doc-json.js';
import { standinIso } from '../helpers/fixtures.js';
import { extractAll, report, treeDigest } from '../helpers/iso-tree.js';
import { ROOT, runCli, tempDir } from '../helpers/project.js';

const LAYOUTS = {
  netinst: { initrd: '/install.amd/initrd.gz', menus: ['/isolinux/isolinux.cfg', '/boot/grub/grub.cfg', '/md5sum.txt'], bios: '/isolinux/isolinux.bin', catalog: '/isolinux/boot.cat' },
  mini: { initrd: '/initrd.gz', menus: ['/isolinux.cfg', '/boot/grub/grub.cfg'], bios: '/isolinux.bin', catalog: '/boot.cat' },
} as const;

describe.each(Object.keys(LAYOUTS) as (keyof typeof LAYOUTS)[])('build from a %s stand-in', (kind) => {
  it("keeps the boot equipment and Debian's files, changes only the menus and md5sum.txt, and adds our initrd", { timeout: 300_000 }, async () => {
    const base = await standinIso(kind);
    const dir = await tempDir();
    const render = join(dir, 'render');
    const result = await runCli(['build', '--base-iso', base, '--out-dir', join(dir, 'out'), '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const manifest = JSON.parse(result.stdout);
    expect(manifest.base.layout).toBe(kind);
    // docs/building.md shows this manifest: the same keys, but the signer, which only a
    // verified download has (a stand-in is a local file).
    const documented = keyPaths(documentedManifest());
    expect(keyPaths(manifest)).toEqual(documented.filter((k) => k !== 'base.signer'));
    const out = manifest.iso.path as string;
    expect(createHash('sha256').update(await readFile(out)).digest('hex')).toBe(manifest.iso.sha256);

    // El Torito BIOS + UEFI, MBR + GPT: the as_mkisofs report is the input's but for the file name.
    const before = (await report(base, 'as_mkisofs')).split('\n').filter((l) => l.startsWith('-'));
    const after = (await report(out, 'as_mkisofs')).split('\n').filter((l) => l.startsWith('-'));
    // Interval positions and the file name differ (the ISO grew); the equipment is the same.
    const norm = (lines: string[]) => lines.map((l) => l.replace(/--interval:local_fs:[^:]*:/, '--interval:local_fs:N:').replace(/:'[^']*'$/, ":'ISO'"));
    expect(norm(after)).toEqual(norm(before));
    const plain = await report(out, 'plain');
    expect(plain).toMatch(/El Torito boot img :\s+1\s+BIOS/);
    expect(plain).toMatch(/El Torito boot img :\s+2\s+UEFI/);
    expect(plain).toMatch(/MBR partition table/);
    expect(plain).toMatch(/^GPT\s+:/m);
    if (kind === 'mini') expect(after.join('\n')).toMatch(/-append_partition 3 0x1/);

    // Every file but the changed ones is byte-identical, Debian's initrd included (its own menu
    // entries must not load our preseed); /.disk/id and /debian -> . survive.
    await extractAll(base, join(dir, 'a'));
    await extractAll(out, join(dir, 'b'));
    const a = await treeDigest(join(dir, 'a'));
    const b = await treeDigest(join(dir, 'b'));
    const changed = [...LAYOUTS[kind].menus];
    const ours = [AUTO_INITRD, GRUB_BIOS_IMAGE, GRUB_BIOS_CONFIG, GRUB_DECIDE_CONFIG];
    expect([...b.keys()].sort()).toEqual([...a.keys(), ...ours].sort());
    expect(b.get(LAYOUTS[kind].initrd)).toBe(a.get(LAYOUTS[kind].initrd));
    expect(manifest.bootEntries.map((e: { initrd: string }) => e.initrd)).toEqual([AUTO_INITRD, AUTO_INITRD]);
    // The default entry decides in GRUB: ISOLINUX starts the BIOS GRUB image (lnxboot.img and a
    // core image, from the build machine's GRUB), the UEFI entry sources the decision first.
    const lnxboot = await readFile('/usr/lib/grub/i386-pc/lnxboot.img');
    expect((await readFile(join(dir, 'b', GRUB_BIOS_IMAGE))).subarray(0, lnxboot.length).equals(lnxboot)).toBe(true);
    const biosMenu = await readFile(join(dir, 'b', LAYOUTS[kind].menus[0]), 'utf8');
    expect(/label vultr-auto\n[\s\S]*?\n\tkernel (\S+)/.exec(biosMenu)?.[1]).toBe(GRUB_BIOS_IMAGE);
    const grubCfg = await readFile(join(dir, 'b', '/boot/grub/grub.cfg'), 'utf8');
    expect(grubCfg).toContain(`--id vultr-auto {\n    source ${GRUB_DECIDE_CONFIG}\n`);
    expect(grubCfg).not.toContain('--id vultr-wipe {\n    source');
    expect(await readFile(join(dir, 'b', GRUB_DECIDE_CONFIG), 'utf8')).toBe(await readFile(join(ROOT, 'grub/decide.cfg'), 'utf8'));
    // xorriso rewrites the boot catalog and the boot info table (bytes 8-63) of isolinux.bin
    // for the new block addresses; nothing else of the boot image may change.
    const { bios, catalog } = LAYOUTS[kind];
    const binA = await readFile(join(dir, 'a', bios));
    const binB = await readFile(join(dir, 'b', bios));
    expect(binB.length).toBe(binA.length);
    expect(Buffer.concat([binB.subarray(0, 8), binB.subarray(64)]).equals(Buffer.concat([binA.subarray(0, 8), binA.subarray(64)]))).toBe(true);
    for (const [path, digest] of a) {
      if (path === bios || path === catalog) continue;
      if (changed.includes(path as never)) expect(b.get(path), path).not.toBe(digest);
      else expect(b.get(path), path).toBe(digest);
    }
    if (kind === 'netinst') {
      expect([...b.keys()].some((p) => p.startsWith('/.disk/id/'))).toBe(true);
      expect(b.get('/debian')).toBe('-> .');
    }

    // Our initrd is Debian's bytes plus one gzip member whose cpio holds /preseed.cfg.
    const original = await readFile(join(dir, 'a', LAYOUTS[kind].initrd));
    const patched = await readFile(join(dir, 'b', AUTO_INITRD));
    expect(patched.subarray(0, original.length).equals(original)).toBe(true);
    const members = gzipMembers(patched);
    expect(members.length).toBe(gzipMembers(original).length + 1);
    const last = readNewc(members.at(-1)!.data);
    const preseed = last.find((m) => m.path === 'preseed.cfg');
    expect(preseed?.data.toString()).toContain('d-i preseed/early_command string sh /vultr-sid-iso/installer/early.sh');
    expect(last.every((m) => m.uid === 0 && m.gid === 0)).toBe(true);
    // The ISO carries exactly what --render-only writes.
    const r = await runCli(['build', '--render-only', render]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await readFile(join(render, 'preseed.cfg'))).equals(preseed!.data)).toBe(true);
    const early = last.find((m) => m.path === 'vultr-sid-iso/installer/early.sh');
    expect(early?.data.equals(await readFile(join(render, 'installer/early.sh')))).toBe(true);

    // Menus: automated entry by default after the timeout; Debian's menu still reachable.
    const grub = await readFile(join(dir, 'b', 'boot/grub/grub.cfg'), 'utf8');
    expect(grub).toContain('set timeout=5');
    expect(grub).toMatch(/auto=true priority=critical console=ttyS0,115200n8 console=tty1 --- console=ttyS0,115200n8 console=tty1/);
    expect(grub).toContain((await readFile(join(dir, 'a', 'boot/grub/grub.cfg'), 'utf8')).split('\n').find((l) => l.includes("menuentry 'Install'")));
    const isolinux = await readFile(join(dir, 'b', LAYOUTS[kind].menus[0]), 'utf8');
    expect(isolinux).toMatch(/^timeout 50$/m);
    expect(isolinux).toMatch(/^ontimeout vultr-auto$/m);
    expect(isolinux).toMatch(/^\tappend menu\.cfg$/m);

    // md5sum.txt is right for the changed and added files.
    if (kind === 'netinst') {
      const sums = await readFile(join(dir, 'b', 'md5sum.txt'), 'utf8');
      for (const p of [...changed.filter((c) => c !== '/md5sum.txt'), ...ours]) {
        const md5 = createHash('md5').update(await readFile(join(dir, 'b', p))).digest('hex');
        expect(sums).toContain(`${md5}  .${p}\n`);
      }
      const unchanged = (await readFile(join(dir, 'a', 'md5sum.txt'), 'utf8')).split('\n').filter((l) => !changed.some((c) => l.endsWith(` .${c}`)));
      for (const line of unchanged) expect(sums).toContain(line);
    }
  });
});

// debian-cd 3.2.1 (bookworm) writes md5sum.txt only; an image that also carries sha256sum.txt
// gets both lists patched, or the installer's media check would fail on the changed files.
describe('an image with sha256sum.txt beside md5sum.txt', () => {
  it('has both checksum lists patched for the changed files', { timeout: 300_000 }, async () => {
    const standin = await standinIso('netinst');
    const dir = await tempDir();
    await extractAll(standin, join(dir, 'a'));
    const md5List = await readFile(join(dir, 'a', 'md5sum.txt'), 'utf8');
    const sha256Of = async (p: string) => createHash('sha256').update(await readFile(join(dir, p))).digest('hex');
    const shaLines = [];
    for (const line of md5List.trimEnd().split('\n')) {
      const path = line.slice(34);
      shaLines.push(`${await sha256Of(join('a', path))}  ${path}`);
    }
    await writeFile(join(dir, 'sha256sum.txt'), `${shaLines.join('\n')}\n`);
    const base = join(dir, 'with-sha256sum.iso');
    await execa('xorriso', ['-indev', standin, '-outdev', base, '-map', join(dir, 'sha256sum.txt'), '/sha256sum.txt', '-boot_image', 'any', 'replay', '-compliance', 'no_emul_toc']);

    const result = await runCli(['build', '--base-iso', base, '--out-dir', join(dir, 'out'), '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    await extractAll(JSON.parse(result.stdout).iso.path, join(dir, 'b'));
    // The files the build adds, then the two of Debian's it changes.
    const added = [AUTO_INITRD, GRUB_BIOS_IMAGE, GRUB_BIOS_CONFIG, GRUB_DECIDE_CONFIG];
    const changed = [...added, '/isolinux/isolinux.cfg', '/boot/grub/grub.cfg'];
    for (const [list, algorithm] of [['md5sum.txt', 'md5'], ['sha256sum.txt', 'sha256']] as const) {
      const patched = await readFile(join(dir, 'b', list), 'utf8');
      for (const p of changed) {
        const digest = createHash(algorithm).update(await readFile(join(dir, 'b', p))).digest('hex');
        expect(patched, `${list} ${p}`).toContain(`${digest}  .${p}\n`);
      }
      const original = list === 'md5sum.txt' ? md5List : `${shaLines.join('\n')}\n`;
      expect(patched.split('\n').length).toBe(original.split('\n').length + added.length);
      for (const line of original.split('\n').filter((l) => !changed.some((c) => l.endsWith(` .${c}`)))) expect(patched).toContain(line);
    }
  });
});

describe('reproducible builds', () => {
  it('gives byte-identical ISOs for the same inputs, and a second build is a no-op', { timeout: 300_000 }, async () => {
    const base = await standinIso('netinst');
    const dir = await tempDir();
    const first = await runCli(['build', '--base-iso', base, '--out-dir', join(dir, 'one'), '--json']);
    const second = await runCli(['build', '--base-iso', base, '--out-dir', join(dir, 'two'), '--json']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(second.exitCode, second.stderr).toBe(0);
    const m1 = JSON.parse(first.stdout);
    const m2 = JSON.parse(second.stdout);
    expect(m2.name).toBe(m1.name);
    expect(m2.iso.sha256).toBe(m1.iso.sha256);
    const before = await stat(m1.iso.path);
    const again = await runCli(['build', '--base-iso', base, '--out-dir', join(dir, 'one'), '--json']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain(`${m1.name} is up to date: nothing to do`);
    expect(again.stderr).toContain('Write manifest: skipped');
    expect((await stat(m1.iso.path)).mtimeMs).toBe(before.mtimeMs);
    expect((await readdir(join(dir, 'one'))).sort()).toEqual([`${m1.name}.iso`, `${m1.name}.json`]);
    expect(JSON.parse(again.stdout).iso.sha256).toBe(m1.iso.sha256);
  });
});
