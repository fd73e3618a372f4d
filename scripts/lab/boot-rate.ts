// How often the lab's sid kernel dies on a cold boot under TCG, per QEMU/kernel setting (an
// `Oops: int3` from live code patching under multi-threaded TCG; docs/testing.md has the
// figures). Each boot is a new QEMU on a fresh copy-on-write overlay of one warm disk (booted
// once, so every measured boot does the same work), watched until it is up (a login prompt on
// the serial console, or systemd's multi-user target: scripts/qemu-watch.ts UP) with the
// harness's own watcher and no retry. Boots of the variants alternate, so a
// change in the machine's load falls on all of them alike.
//   node dist/scripts/lab/boot-rate.js [--boots N] [--out FILE] [--logs DIR] VARIANT...
//   VARIANT: name:thread=multi|single,smp=N,cpu=MODEL,append=KERNEL+PARAMS (each part optional)
import { execa } from 'execa';
import { appendFile, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UP } from '../qemu-watch.js';
import { parseScriptArgs, scriptCommand } from '../script-cli.js';
import { sidDisk } from './sid-disk.js';
import { VultrLab } from './vultr-lab.js';
import { vultrMetadata } from './vultr-metadata.js';

const INSTANCE = '5d2c9a41-7e3b-4f60-8a1d-2b9c4e6f8a03';
const BOOT_MS = 20 * 60_000;

interface Variant {
  name: string;
  thread: 'multi' | 'single';
  smp: number;
  cpu: string;
  append: string;
}

function parseVariant(text: string): Variant {
  const [name, spec = ''] = text.split(/:(.*)/s);
  const v: Variant = { name: name!, thread: 'multi', smp: 2, cpu: 'max', append: '' };
  for (const part of spec.split(',').filter(Boolean)) {
    const [k, value = ''] = part.split(/=(.*)/s);
    if (k === 'thread' && (value === 'multi' || value === 'single')) v.thread = value;
    else if (k === 'smp') v.smp = Number(value);
    else if (k === 'cpu') v.cpu = value;
    else if (k === 'append') v.append = value.replaceAll('+', ' ');
    else throw new Error(`unknown variant setting ${part} in ${text}`);
  }
  return v;
}

async function main(): Promise<void> {
  const command = parseScriptArgs(
    scriptCommand('boot-rate', "Cold-boot the lab's sid disk under TCG, per setting, and count the boots that die before they are up (a login prompt, or systemd's multi-user target).")
      .argument('[variant...]', 'name:thread=multi|single,smp=N,cpu=MODEL,append=KERNEL+PARAMS (default: today:)')
      .option('--boots <n>', 'boots per variant', '20')
      .option('--out <file>', 'append one JSON line per boot to FILE')
      .option('--logs <dir>', 'keep the serial log of every boot that did not come up in DIR'),
  );
  const variants = (command.processedArgs[0].length ? command.processedArgs[0] : ['today:']).map(parseVariant);
  const values = command.opts();
  const boots = Number(values.boots);
  const disk = await sidDisk({ log: (l) => console.error(l) });
  const dir = await mkdtemp(join(tmpdir(), 'vsi-boot-rate-'));
  const lab = await VultrLab.up(dir);
  try {
    await lab.setMetadata(vultrMetadata({ instanceId: INSTANCE, hostname: 'rate', publicKeys: [] }));
    const warm = await warmDisk(lab, disk, dir);
    // Its own kernel and initrd: a lab test may build another disk meanwhile and prune this one.
    await copyFile(disk.kernel, join(dir, 'vmlinuz'));
    await copyFile(disk.initrd, join(dir, 'initrd.img'));
    const kernel = join(dir, 'vmlinuz');
    const initrd = join(dir, 'initrd.img');
    const tally = new Map(variants.map((v) => [v.name, { up: [] as number[], died: [] as string[], other: [] as string[] }]));
    for (let i = 0; i < boots; i++) {
      for (const v of i % 2 ? [...variants].reverse() : variants) {
        await execa('sync');
        const name = `${v.name}-${i}`;
        const bootedAt = Date.now();
        const vm = await lab.boot({
          name, disk: warm, instanceId: INSTANCE, cpus: v.smp, retry: false, tcg: { thread: v.thread, cpu: v.cpu },
          direct: { kernel, initrd, append: `${disk.append} ${v.append}`.trim() },
        });
        const t = tally.get(v.name)!;
        let outcome: string;
        try {
          const at = await vm.waitForSerial(UP, BOOT_MS);
          const s = (at - bootedAt) / 1000;
          t.up.push(s);
          outcome = `up after ${s.toFixed(0)} s`;
        } catch (error) {
          outcome = vm.died ? vm.died.split('\n')[0]! : String(error).split('\n')[0]!;
          (vm.died ? t.died : t.other).push(outcome);
        }
        await vm.kill();
        if (values.logs && !outcome.startsWith('up')) {
          await mkdir(values.logs, { recursive: true });
          await copyFile(vm.serialPath, join(values.logs, `serial-${name}.log`));
        }
        await rm(join(dir, `${name}.qcow2`), { force: true });
        await rm(vm.serialPath, { force: true });
        console.error(`${name}: ${outcome}`);
        if (values.out) await appendFile(values.out, `${JSON.stringify({ variant: v, boot: i, outcome, at: new Date().toISOString() })}\n`);
      }
    }
    for (const v of variants) {
      const t = tally.get(v.name)!;
      const sorted = [...t.up].sort((a, b) => a - b);
      const median = sorted.length ? sorted[Math.floor(sorted.length / 2)]!.toFixed(0) : '-';
      console.log(`${v.name} (thread=${v.thread} smp=${v.smp} cpu=${v.cpu}${v.append ? ` append="${v.append}"` : ''}): ${t.died.length} of ${t.up.length + t.died.length + t.other.length} boots died, ${t.other.length} other failures; median ${median} s until up`);
      for (const d of t.died) console.log(`  ${d}`);
      for (const d of t.other) console.log(`  ${d}`);
    }
  } finally {
    await lab.down();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The lab disk after one complete first boot (cloud-init done, host keys made), as a raw image. */
async function warmDisk(lab: VultrLab, disk: Awaited<ReturnType<typeof sidDisk>>, dir: string): Promise<string> {
  const vm = await lab.boot({ name: 'warm', disk: disk.disk, instanceId: INSTANCE, direct: { kernel: disk.kernel, initrd: disk.initrd, append: disk.append } });
  await vm.waitForSerial(UP, BOOT_MS);
  await vm.waitForSsh(disk.adminKey, 'debian', BOOT_MS);
  await vm.ssh(disk.adminKey, 'debian', 'sudo cloud-init status --wait >/dev/null; sudo systemctl poweroff', { timeoutMs: 600_000 });
  await vm.exited;
  const raw = join(dir, 'warm.img');
  await execa('qemu-img', ['convert', '-O', 'raw', join(dir, 'warm.qcow2'), raw]);
  await rm(join(dir, 'warm.qcow2'));
  return raw;
}

await main();
