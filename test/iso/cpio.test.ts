import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNewc, writeNewc } from '../../src/iso/cpio.js';
import { gzipDeterministic, gzipMembers } from '../../src/iso/gzip-members.js';
import { patchChecksumList } from '../../src/iso/checksum-list.js';
import { tempDir } from '../helpers/project.js';

describe('newc cpio writer', () => {
  const entries = [
    { path: 'preseed.cfg', mode: 0o644, data: Buffer.from('d-i x string y\n') },
    { path: 'dir', mode: 0o755 },
    { path: 'dir/odd-length.sh', mode: 0o755, data: Buffer.from('abc') },
  ];

  it('round-trips names, modes, owners and data with a fixed mtime', () => {
    const members = readNewc(writeNewc(entries, 1234));
    expect(members.map((m) => [m.path, m.mode.toString(8), m.uid, m.gid, m.mtime])).toEqual([
      ['preseed.cfg', '100644', 0, 0, 1234],
      ['dir', '40755', 0, 0, 1234],
      ['dir/odd-length.sh', '100755', 0, 0, 1234],
    ]);
    expect(members[2]!.data.toString()).toBe('abc');
  });

  it('is read by GNU cpio as a valid newc archive', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.cpio'), writeNewc(entries, 0));
    const { stdout } = await execa('cpio', ['-it', '--quiet', '-F', join(dir, 'a.cpio')]);
    expect(stdout.split('\n')).toEqual(['preseed.cfg', 'dir', 'dir/odd-length.sh']);
  });

  it('is reproducible, and refuses paths that escape the archive root', () => {
    expect(gzipDeterministic(writeNewc(entries, 5)).equals(gzipDeterministic(writeNewc(entries, 5)))).toBe(true);
    expect(() => writeNewc([{ path: '../etc/passwd', mode: 0o644, data: Buffer.from('') }], 0)).toThrow(/invalid cpio path/);
  });
});

describe('gzip member walker', () => {
  it('finds every member of a concatenation, where zcat | cpio would stop at the first', () => {
    const a = gzipDeterministic(Buffer.from('first'.repeat(1000)));
    const b = gzipDeterministic(writeNewc([{ path: 'preseed.cfg', mode: 0o644, data: Buffer.from('x') }], 0));
    const members = gzipMembers(Buffer.concat([a, b, Buffer.alloc(16)]));
    expect(members.map((m) => [m.offset, m.length])).toEqual([
      [0, a.length],
      [a.length, b.length],
    ]);
    expect(readNewc(members[1]!.data)[0]!.path).toBe('preseed.cfg');
  });

  it('writes gzip headers without a name or a time', () => {
    const gz = gzipDeterministic(Buffer.from('x'));
    expect(gz[3]).toBe(0); // no FNAME
    expect(gz.readUInt32LE(4)).toBe(0); // MTIME
  });
});

describe('checksum list patching', () => {
  it('rewrites only the changed lines and keeps the rest as it was', () => {
    const original = `${'a'.repeat(32)}  ./boot/grub/grub.cfg\n${'b'.repeat(32)}  ./install.amd/initrd.gz\n${'c'.repeat(32)}  ./pool/x.deb\n`;
    const out = patchChecksumList(original, new Map([['/install.amd/initrd.gz', 'd'.repeat(32)]]));
    expect(out).toBe(`${'a'.repeat(32)}  ./boot/grub/grub.cfg\n${'d'.repeat(32)}  ./install.amd/initrd.gz\n${'c'.repeat(32)}  ./pool/x.deb\n`);
  });

  it('adds a file the list lacks in path order, as debian-cd sorts it', () => {
    const original = `${'a'.repeat(32)}  ./boot/grub/grub.cfg\n${'c'.repeat(32)}  ./pool/x.deb\n`;
    const out = patchChecksumList(original, new Map([['/install.amd/vultr.gz', 'd'.repeat(32)], ['/zz/last', 'e'.repeat(32)]]));
    expect(out).toBe(`${'a'.repeat(32)}  ./boot/grub/grub.cfg\n${'d'.repeat(32)}  ./install.amd/vultr.gz\n${'c'.repeat(32)}  ./pool/x.deb\n${'e'.repeat(32)}  ./zz/last\n`);
  });
});
