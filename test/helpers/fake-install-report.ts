// The installed system's side of `vm create --ipv6-only`, for the fake Vultr: on an instance's
// first boot, the report program its user-data carries (src/vm/install-report-program.ts) is
// taken out of the MIME message and run for real with python3, against a directory that holds
// what the installed system would (cloud-init's instance id, the boot program's state, cloud-
// init's result), probing the instance's fake SSH server, and PUTting to whatever URL vm
// create presigned (s3rver in the tests). The QEMU lab proves the same program on a real
// installed system; this proves vm create's side of it, every run.
import { execa } from 'execa';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPORT_PART_FILENAME } from '../../src/vm/report-user-data.js';
import type { FakeInstance, FakeVultr } from './fake-vultr.js';
import { tempDir } from './project.js';

/** The parts of a multipart user-data: file name (Content-Disposition) → decoded body. */
export function mimeParts(userData: Buffer): Map<string, Buffer> {
  const text = userData.toString('latin1');
  const boundary = /boundary="([^"]+)"/.exec(text)?.[1];
  const out = new Map<string, Buffer>();
  if (!boundary) return out;
  for (const chunk of text.split(`--${boundary}`).slice(1, -1)) {
    const [head = '', body = ''] = chunk.replace(/^\r?\n/, '').split(/\r?\n\r?\n/, 2) as [string?, string?];
    const name = /filename="([^"]+)"/.exec(head)?.[1] ?? '';
    const base64 = /Content-Transfer-Encoding:\s*base64/i.test(head);
    out.set(name, base64 ? Buffer.from(body, 'base64') : Buffer.from(body.replace(/\r?\n$/, ''), 'latin1'));
  }
  return out;
}

export interface FirstBootOptions {
  /** What the installed system lacks (the program lists it as missing). */
  lacks?: string[];
  /** No SSH server answers on the VM. */
  noSshd?: boolean;
  /** The instance id cloud-init found (default: the instance's own). */
  instanceId?: (instance: FakeInstance) => string;
  /** The report is never sent (the VM cannot reach the object storage). */
  silent?: boolean;
  /** Told each time a report program ran (its exit code and output). */
  ran?: (instance: FakeInstance, result: { exitCode?: number; output: string }) => void;
}

const EXPECTED = { docker: 'usr/sbin/dockerd', ndppd: 'usr/sbin/ndppd', 'openssh-server': 'usr/sbin/sshd', 'vultr-sid-ipv6': 'usr/local/sbin/vultr-sid-ipv6' };

/** Every instance whose user-data carries the report program runs it on its first boot (call in a test: its files go with it). */
export async function playInstallReports(fake: FakeVultr, choose: FirstBootOptions | ((instance: FakeInstance) => FirstBootOptions) = {}): Promise<void> {
  const scratch = await tempDir('vsi-first-boot-');
  fake.onFirstBoot = async (instance) => {
    const options = typeof choose === 'function' ? choose(instance) : choose;
    const encoded = instance.request.user_data;
    if (options.silent || typeof encoded !== 'string') return;
    const program = mimeParts(Buffer.from(encoded, 'base64')).get(REPORT_PART_FILENAME);
    if (!program) return;
    const root = await mkdtemp(join(scratch, 'vm-'));
    const files: Record<string, string> = {
      'var/lib/cloud/data/instance-id': `${options.instanceId?.(instance) ?? instance.id}\n`,
      'run/vultr-sid-ipv6/state.json': JSON.stringify({ uplink: 'enp1s0', containerPrefix: `${instance.v6_network}/80`, ipv6: true, exposure: 'published', network: 'public' }),
      'run/cloud-init/result.json': JSON.stringify({ v1: { datasource: 'DataSourceVultr', errors: [] } }),
    };
    for (const [name, rel] of Object.entries(EXPECTED)) if (!options.lacks?.includes(name)) files[rel] = '';
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(join(root, rel, '..'), { recursive: true });
      await writeFile(join(root, rel), text);
    }
    await writeFile(join(root, 'report.py'), program);
    // A closed port on the instance's own address when there is no SSH server.
    const ssh = `${instance.address}:${options.noSshd ? 1 : fake.sshPort}`;
    const r = await execa('python3', [join(root, 'report.py'), '--root', root, '--ssh', ssh, '--give-up-after', '5'], { reject: false, all: true, timeout: 30_000 });
    options.ran?.(instance, { exitCode: r.exitCode, output: String(r.all ?? '') });
  };
}
