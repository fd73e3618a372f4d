// npm run bench: repack a netinst-sized stand-in and print, from one run, build-iso's wall
// time against the floor (a bare `xorriso -boot_image any replay` of the same ISO) and
// against the extract-gunzip-cpio-gzip-rebuild approach most peers use, plus peak RSS at two
// ISO sizes. Figures are ratios against baselines measured in the same run, because this
// machine is noisy, and no contender pays for another's I/O: every output is deleted and
// `sync` runs before each measured command (the writeback of one run's 800 MB would
// otherwise land in the next one's time), the order alternates from round to round, and
// medians are taken. Then the boot: seconds from power-on to the preseed marker on a blank
// disk under SeaBIOS, through the default entry (ISOLINUX → GRUB's decision → the installer)
// and through the ERASING entry picked at the menu (ISOLINUX → the installer directly, the
// path the default entry took before it decided), in the same ISO with a 1-second menu: three
// boots each, alternating, to the kernel's first line and to the marker.
//   node dist/scripts/bench.js [--rounds N] [--no-boot | --boot-only] [--boot-rounds N]   (defaults 5, 3; --help)
import { execa } from 'execa';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Option } from '@commander-js/extra-typings';
import { positiveNumber } from '../src/commands/run.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { BENCH_METHOD } from './bench-method.js';
import { MARKER } from './preseed-boot.js';
import { bootIso } from './qemu-boot.js';
import { parseScriptArgs, scriptCommand } from './script-cli.js';

const args = parseScriptArgs(
  scriptCommand('bench', 'Repack speed and memory of build-iso against a bare xorriso replay and extract-and-rebuild, then the boot to the preseed through each entry.')
    .option('--rounds <n>', 'rounds of the repack at the larger size', positiveNumber('--rounds'), BENCH_METHOD.rounds)
    .option('--boot-rounds <n>', 'boots through each entry', positiveNumber('--boot-rounds'), BENCH_METHOD.bootRounds)
    .addOption(new Option('--boot-only', 'measure only the boot').conflicts('boot'))
    .option('--no-boot', 'measure only the repack'),
).opts();

// BENCH_CLI: another build of the CLI to measure the same way (e.g. an older commit's).
const CLI = process.env.BENCH_CLI ?? join(PROJECT_ROOT, 'dist/src/bin.js');
// It runs in its own checkout, with that checkout's iso.config.yaml and templates.
const CLI_ROOT = resolve(dirname(CLI), '../..');
const BUILDER = join(PROJECT_ROOT, 'scripts/fixtures/build-standin-iso.sh');
const CACHE = join(PROJECT_ROOT, 'iso/cache/fixtures');

async function standin(fillerMb: number): Promise<string> {
  const out = join(CACHE, `bench-netinst-${fillerMb}m.iso`);
  await execa('sh', ['-c', `[ -f "${out}" ] || bash "${BUILDER}" netinst "${out}" ${fillerMb}`], { stdio: 'inherit', env: { FIXTURE_DEBS_DIR: join(PROJECT_ROOT, 'iso/cache/debs') } });
  return out;
}

/** Wall seconds and peak RSS (MiB, the largest process in the tree) via GNU time. */
type Run = { s: number; rssMiB: number };

/** Flushes every dirty page first, so the measured command pays only for its own writes. */
async function measure(cmd: string[], options: { cwd?: string } = {}): Promise<Run> {
  await execa('sync');
  const { stderr } = await execa('/usr/bin/time', ['-f', 'BENCH %e %M', ...cmd], { cwd: options.cwd, env: { NO_COLOR: '1' } });
  const m = /BENCH ([\d.]+) (\d+)/.exec(stderr);
  if (!m) throw new Error(`no timing from ${cmd[0]}: ${stderr.slice(-500)}`);
  return { s: Number(m[1]), rssMiB: Number(m[2]) / 1024 };
}

async function writeRebuildScript(base: string, work: string): Promise<string> {
  const tree = join(work, 'tree');
  const script = `set -e
rm -rf "${tree}" "${work}/rebuilt.iso"
xorriso -osirrox on -indev "${base}" -extract / "${tree}" 2>/dev/null
chmod -R u+w "${tree}"
cd "${work}"
printf 'd-i preseed/early_command string true\\n' > preseed.cfg
gunzip "${tree}/install.amd/initrd.gz"
echo preseed.cfg | cpio -H newc -o -A -F "${tree}/install.amd/initrd" 2>/dev/null
gzip -9 "${tree}/install.amd/initrd"
(cd "${tree}" && find . -follow -type f ! -name md5sum.txt -print0 2>/dev/null | xargs -0 md5sum > md5sum.txt)
opts=$(xorriso -indev "${base}" -report_el_torito as_mkisofs 2>/dev/null | grep '^-' | tr '\\n' ' ')
eval "xorriso -as mkisofs -r -J -joliet-long -o rebuilt.iso $opts \\"${tree}\\"" 2>/dev/null
`;
  const path = join(work, 'rebuild.sh');
  await writeFile(path, script);
  await chmod(path, 0o755);
  return path;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface SizeResult {
  replay: Run[];
  warm: Run[];
  cold: Run[];
  rebuild: Run[];
}

async function benchSize(mb: number, rounds: number, rebuilds: number): Promise<SizeResult> {
  const base = await standin(mb);
  const work = await mkdtemp(join(tmpdir(), 'vsi-bench-'));
  const out = join(work, 'out');
  const warmCache = join(work, 'warm-cache');
  const result: SizeResult = { replay: [], warm: [], cold: [], rebuild: [] };
  try {
    // Every contender reads the base from the page cache.
    await execa('cat', [base], { stdout: 'ignore' });
    const build = (cacheDir: string) => measure(['node', CLI, 'build', '--base-iso', base, '--out-dir', out, '--cache-dir', cacheDir], { cwd: CLI_ROOT });
    const contenders: Record<'replay' | 'warm' | 'cold', () => Promise<Run>> = {
      replay: () => measure(['xorriso', '-indev', base, '-outdev', join(work, 'replay.iso'), '-compliance', 'no_emul_toc', '-boot_image', 'any', 'replay']),
      // The base's digest remembered, as in a developer's next build.
      warm: () => build(warmCache),
      // A cache of its own each time: the base is hashed, as in a first build or a restored cache.
      cold: () => build(join(work, `cold-cache-${Math.random().toString(36).slice(2)}`)),
    };
    await rm(out, { recursive: true, force: true });
    await execa('node', [CLI, 'build', '--base-iso', base, '--out-dir', out, '--cache-dir', warmCache], { cwd: CLI_ROOT, env: { NO_COLOR: '1' } });
    const order = ['replay', 'warm', 'cold'] as const;
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 === 0 ? order : [...order].reverse()) {
        // The previous output goes before the sync, so its writeback is nobody's cost.
        await rm(out, { recursive: true, force: true });
        await rm(join(work, 'replay.iso'), { force: true });
        result[name].push(await contenders[name]());
        if (name !== 'replay' && !(await readdir(out)).some((f) => f.endsWith('.iso'))) throw new Error('build-iso wrote no ISO');
      }
    }
    if (rebuilds > 0) {
      const script = await writeRebuildScript(base, work);
      for (let i = 0; i < rebuilds; i++) result.rebuild.push(await measure(['bash', script]));
    }
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface BootRun {
  /** Seconds to the kernel's first line, and to the preseed marker. */
  kernel: number;
  marker: number;
}

/**
 * Boots to the preseed marker on a blank disk, by the default entry and by the ERASING entry,
 * alternating, `rounds` times each. Both start the same kernel and initrd, so the difference to
 * the kernel's first line is the decision's own cost; what comes after (d-i finding its CD)
 * varies by several seconds from boot to boot, hence the medians.
 */
async function benchBoot(rounds: number): Promise<{ viaGrub: BootRun[]; direct: BootRun[] }> {
  const work = await mkdtemp(join(tmpdir(), 'vsi-bench-boot-'));
  try {
    const base = await standin(1);
    const config = join(work, 'fast-menu.yaml');
    await writeFile(config, 'boot:\n  timeout: 1\n');
    const { stdout } = await execa('node', [CLI, 'build', '--config', config, '--base-iso', base, '--out-dir', join(work, 'out'), '--cache-dir', join(work, 'cache'), '--json'], { cwd: CLI_ROOT });
    const iso = (JSON.parse(stdout) as { iso: { path: string } }).iso.path;
    const boot = async (keys: boolean): Promise<BootRun> => {
      const dir = await mkdtemp(join(work, 'run-'));
      await execa('truncate', ['-s', '4G', join(dir, 'blank.img')]);
      const r = await bootIso(iso, {
        firmware: 'bios',
        workDir: dir,
        disk: join(dir, 'blank.img'),
        until: new RegExp(MARKER),
        timeoutMs: 900_000,
        keys: keys ? [{ when: /Press a key for the menu/, send: ['down', 'ret'] }] : undefined,
        marks: [/Linux version/],
      });
      await rm(dir, { recursive: true, force: true });
      if (!r.matched || r.markMs[0] === undefined) throw new Error(`no kernel start or preseed marker within 15 minutes${keys ? ' (ERASING entry)' : ''}`);
      return { kernel: r.markMs[0] / 1000, marker: r.ms / 1000 };
    };
    const result = { viaGrub: [] as BootRun[], direct: [] as BootRun[] };
    for (let round = 0; round < rounds; round++) {
      for (const entry of round % 2 === 0 ? (['direct', 'viaGrub'] as const) : (['viaGrub', 'direct'] as const)) {
        result[entry].push(await boot(entry === 'direct'));
      }
    }
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function benchRepack(): Promise<void> {
  const rounds = args.rounds;
  const { smallMb: small, largeMb: large } = BENCH_METHOD;
  const big = await benchSize(large, rounds, BENCH_METHOD.rebuilds);
  const little = await benchSize(small, BENCH_METHOD.smallRounds, 0);
  const floor = median(big.replay.map((r) => r.s));
  const warm = median(big.warm.map((r) => r.s));
  const cold = median(big.cold.map((r) => r.s));
  const rebuild = median(big.rebuild.map((r) => r.s));
  const peak = (runs: Run[]) => Math.max(...runs.map((r) => r.rssMiB)).toFixed(0);
  const spread = (runs: Run[]) => `${Math.min(...runs.map((r) => r.s)).toFixed(2)}–${Math.max(...runs.map((r) => r.s)).toFixed(2)} s`;
  const lines = [
    `base ISO                         : ${large} MB filler netinst stand-in (real d-i kernel + initrds); sync before every run, order alternating`,
    `bare xorriso replay (floor)      : ${floor.toFixed(2)} s (median of ${big.replay.length}; ${spread(big.replay)})`,
    `build-iso, base already hashed   : ${warm.toFixed(2)} s (median of ${big.warm.length}; ${spread(big.warm)}) = ${(warm / floor).toFixed(2)}x the floor   (target <= 1.5x)`,
    `build-iso, first build of a base : ${cold.toFixed(2)} s (median of ${big.cold.length}; ${spread(big.cold)}) = ${(cold / floor).toFixed(2)}x the floor (hashes the base too)`,
    `extract+gunzip+cpio+gzip+rebuild : ${rebuild.toFixed(2)} s (median of ${big.rebuild.length}) = ${(rebuild / warm).toFixed(1)}x slower than build-iso, ${(rebuild / cold).toFixed(1)}x first build   (target >= 10x)`,
    `peak RSS build-iso               : ${peak(big.warm)} MiB (first build ${peak(big.cold)} MiB) at ${large} MB, ${peak(little.warm)} MiB (first ${peak(little.cold)} MiB) at ${small} MB   (target <= 150 MiB, flat)`,
  ];
  // build-iso runs the same xorriso replay and more: faster than the floor means the
  // contenders did not pay for the same things.
  if (warm < floor || cold < floor) lines.push('MEASURING ERROR: build-iso came out faster than the bare replay it contains; rerun on an idle machine');
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  if (!args.bootOnly) await benchRepack();
  if (!args.boot) return;
  const bootRounds = args.bootRounds;
  const { viaGrub, direct } = await benchBoot(bootRounds);
  const med = (runs: BootRun[], k: keyof BootRun) => median(runs.map((r) => r[k]));
  console.log(
    [
      `boot to the preseed, blank disk  : SeaBIOS, ${process.env.VSI_QEMU_KVM === '1' ? 'KVM' : 'TCG'}, 1-second menu, medians of ${bootRounds} boots each, alternating`,
      `  default entry (GRUB decides)   : kernel starts at ${med(viaGrub, 'kernel').toFixed(1)} s, preseed marker at ${med(viaGrub, 'marker').toFixed(1)} s (${viaGrub.map((r) => r.marker.toFixed(0)).join(', ')})`,
      `  ERASING entry (no decision)    : kernel starts at ${med(direct, 'kernel').toFixed(1)} s, preseed marker at ${med(direct, 'marker').toFixed(1)} s (${direct.map((r) => r.marker.toFixed(0)).join(', ')})   (the default entry's path before it decided)`,
      `  the decision costs             : ${(med(viaGrub, 'kernel') - med(direct, 'kernel')).toFixed(1)} s to the kernel, ${(med(viaGrub, 'marker') - med(direct, 'marker')).toFixed(1)} s to the marker   (target <= 10 s)`,
    ].join('\n'),
  );
}

await main();
