// The output is hashed while xorriso writes it (HashWorker.followGrowing), which is right
// only if xorriso writes the file strictly front to back. This holds the real xorriso to
// that: every write to the output, traced with strace, starts where the previous one ended.
import { execa } from 'execa';
import { chown, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayArgs } from '../../src/systems/xorriso.js';
import { standinIso } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/project.js';

interface Trace {
  writes: number;
  end: number;
  outOfOrder: string[];
}

/** Follows one fd through a per-thread strace log from the openat of `path` to its close. */
function followFd(log: string, path: string): Trace | undefined {
  let fd: string | undefined;
  const trace: Trace = { writes: 0, end: 0, outOfOrder: [] };
  for (const line of log.split('\n')) {
    if (fd === undefined) {
      const open = /^openat\(AT_FDCWD, "(.*)", .*\) = (\d+)$/.exec(line);
      if (open?.[1] === path) fd = open[2];
      continue;
    }
    const call = /^(\w+)\((\d+)(?:, (.*))?\)\s+= (-?\d+)/.exec(line);
    if (!call || call[2] !== fd) continue;
    const [, name, , args = '', result] = call;
    const ret = Number(result);
    if (name === 'close') break;
    if (name === 'write' || name === 'writev') {
      trace.writes += 1;
      trace.end += ret;
    } else if (name === 'pwrite64' || name === 'pwritev') {
      const offset = Number(args.split(', ').at(-1));
      if (offset !== trace.end) trace.outOfOrder.push(line);
      trace.writes += 1;
      trace.end = offset + ret;
    } else if (name === 'lseek') {
      if (ret !== trace.end) trace.outOfOrder.push(line);
    } else if (!['fsync', 'fdatasync', 'fstat', 'newfstatat', 'fcntl'].includes(name!)) {
      trace.outOfOrder.push(line);
    }
  }
  return fd === undefined ? undefined : trace;
}

describe('xorriso replay', () => {
  it('writes the output strictly front to back', { timeout: 120_000 }, async () => {
    const base = await standinIso('netinst');
    const dir = await tempDir();
    const out = join(dir, 'out.iso');
    const menu = join(dir, 'isolinux.cfg');
    await writeFile(menu, 'default vesamenu.c32\n');
    await writeFile(out, '');
    await execa('strace', ['-ff', '-o', join(dir, 'trace'), '-e', 'trace=openat,lseek,write,writev,pwrite64,pwritev,ftruncate,fallocate,dup,dup2,dup3,close,fsync', 'xorriso', ...replayArgs(base, out, [{ localPath: menu, isoPath: '/isolinux/isolinux.cfg' }])], {
      env: { LC_ALL: 'C' },
    });
    const traces: Trace[] = [];
    for (const f of (await readdir(dir)).filter((n) => n.startsWith('trace.'))) {
      const t = followFd(await readFile(join(dir, f), 'utf8'), out);
      if (t) traces.push(t);
    }
    expect(traces).toHaveLength(1);
    const [trace] = traces;
    expect(trace!.outOfOrder).toEqual([]);
    expect(trace!.writes).toBeGreaterThan(100);
    expect(trace!.end).toBe((await stat(out)).size);
  });

  it('records every file it adds as owned by root, whoever builds (same inputs, same bytes)', { timeout: 120_000 }, async () => {
    const base = await standinIso('mini');
    const dir = await tempDir();
    const out = join(dir, 'out.iso');
    // What a build by uid 1000 leaves in its scratch directory: a replaced file and a new tree.
    await writeFile(join(dir, 'isolinux.cfg'), 'default vesamenu.c32\n');
    await mkdir(join(dir, 'vultr'));
    await writeFile(join(dir, 'vultr/initrd.gz'), 'x');
    for (const p of ['isolinux.cfg', 'vultr', 'vultr/initrd.gz']) await chown(join(dir, p), 1000, 1000);
    await execa('xorriso', replayArgs(base, out, [{ localPath: join(dir, 'isolinux.cfg'), isoPath: '/isolinux.cfg' }, { localPath: join(dir, 'vultr'), isoPath: '/vultr' }]), { env: { LC_ALL: 'C' } });
    const { stdout } = await execa('xorriso', ['-indev', out, '-lsdl', '/isolinux.cfg', '/vultr', '/vultr/initrd.gz', '--'], { env: { LC_ALL: 'C' } });
    const owners = stdout.split('\n').filter((l) => /^[-d]/.test(l)).map((l) => l.split(/\s+/).slice(2, 4).join(':'));
    expect(owners).toEqual(['0:0', '0:0', '0:0']);
  });
});
