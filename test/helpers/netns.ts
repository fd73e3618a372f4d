// A small lab of network namespaces: "rtr" (Vultr's router, the /64 on-link), "vm" (our VM,
// uplink enp1s0) and containers on a bridge in the VM. Traffic stays inside namespaces the
// test created; everything is deleted afterwards.
import { execa, type ResultPromise } from 'execa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './project.js';

const METADATA_SERVER = join(ROOT, 'dist/scripts/lab/metadata-server.js');

/** The MAC of the vm's uplink: what Vultr's metadata names the interface by. */
export const VM_MAC = '56:00:00:20:22:95';

export class Lab {
  readonly rtr: string;
  readonly vm: string;
  readonly namespaces: string[] = [];
  private readonly children: ResultPromise[] = [];
  private seq = 0;

  constructor(readonly id = `${process.pid}${Math.floor(Math.random() * 1000)}`) {
    this.rtr = `vsi-rtr-${id}`;
    this.vm = `vsi-vm-${id}`;
  }

  /** A lab with "rtr" and "vm" joined by the vm's uplink enp1s0 (VM_MAC) and the router's rtr0. */
  static async withUplink(): Promise<Lab> {
    const l = new Lab();
    await l.ns(l.rtr);
    await l.ns(l.vm);
    await l.link(l.vm, 'enp1s0', l.rtr, 'rtr0', VM_MAC);
    return l;
  }

  async ns(name: string): Promise<void> {
    await execa('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    await this.exec(name, ['ip', 'link', 'set', 'lo', 'up']);
  }

  exec(ns: string, cmd: string[], options: { reject?: boolean; timeout?: number } = {}) {
    return execa('ip', ['netns', 'exec', ns, ...cmd], { reject: options.reject ?? true, timeout: options.timeout ?? 20_000 });
  }

  spawn(ns: string, cmd: string[]): ResultPromise {
    const child = execa('ip', ['netns', 'exec', ns, ...cmd], { reject: false });
    this.children.push(child);
    return child;
  }

  /** A veth pair with one end in each namespace, renamed inside it. */
  async link(nsA: string, nameA: string, nsB: string, nameB: string, macA?: string): Promise<void> {
    const a = `vsa${this.id}${this.seq}`.slice(0, 15);
    const b = `vsb${this.id}${this.seq++}`.slice(0, 15);
    await execa('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    await execa('ip', ['link', 'set', a, 'netns', nsA]);
    await execa('ip', ['link', 'set', b, 'netns', nsB]);
    await this.exec(nsA, ['ip', 'link', 'set', a, 'name', nameA]);
    await this.exec(nsB, ['ip', 'link', 'set', b, 'name', nameB]);
    if (macA) await this.exec(nsA, ['ip', 'link', 'set', nameA, 'address', macA]);
    await this.exec(nsA, ['ip', 'link', 'set', nameA, 'up']);
    await this.exec(nsB, ['ip', 'link', 'set', nameB, 'up']);
  }

  async sysctl(ns: string, key: string, value: string): Promise<void> {
    await this.exec(ns, ['sysctl', '-q', '-w', `${key}=${value}`]);
  }

  /** Vultr's metadata service inside `ns` at 169.254.169.254:80, serving `metadata` (written to `file`) as /v1.json. */
  async serveMetadata(ns: string, file: string, metadata: object): Promise<void> {
    await writeFile(file, JSON.stringify(metadata));
    await this.exec(ns, ['ip', 'addr', 'add', '169.254.169.254/32', 'dev', 'lo']);
    this.spawn(ns, [process.execPath, METADATA_SERVER, '169.254.169.254', '80', file]);
    for (let i = 0; i < 50; i++) {
      if ((await this.exec(ns, ['curl', '-fsS', '--max-time', '1', '-o', '/dev/null', 'http://169.254.169.254/v1.json'], { reject: false })).exitCode === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('metadata server did not start');
  }

  async destroy(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    await Promise.allSettled(this.children);
    for (const ns of this.namespaces.reverse()) await execa('ip', ['netns', 'del', ns], { reject: false });
  }
}
