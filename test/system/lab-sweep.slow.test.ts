// A lab killed outright (SIGKILL, a machine restart) cannot clean up after itself; the next lab
// must remove what it left: its namespace with the processes in it, and its host changes.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sweepDeadLabs } from '../../scripts/lab/vultr-lab.js';

const RECORDS = '/run/vultr-sid-iso-lab';
const made: string[] = [];
let dir: string | undefined;

async function namespaces(): Promise<string[]> {
  return (await execa('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!);
}

describe('sweeping dead labs', () => {
  afterAll(async () => {
    for (const ns of made) await execa('ip', ['netns', 'del', ns], { reject: false });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('removes a dead process\'s namespace, kills what runs in it and undoes its host changes; a live one stays', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vsi-sweep-'));
    const gone = execa('true');
    await gone;
    const dead = `vsl-${gone.pid}`;
    const live = 'vsl-1'; // pid 1 is always alive
    for (const ns of [dead, live]) {
      await execa('ip', ['netns', 'add', ns]);
      made.push(ns);
    }
    const sleeper = execa('ip', ['netns', 'exec', dead, 'sleep', '600'], { reject: false });
    await new Promise((r) => setTimeout(r, 200));
    const undone = join(dir, 'undone');
    await mkdir(RECORDS, { recursive: true });
    await writeFile(join(RECORDS, `${gone.pid}.json`), JSON.stringify([['touch', undone]]));
    await writeFile(join(RECORDS, '1.json'), JSON.stringify([['touch', `${undone}-live`]]));

    await sweepDeadLabs();

    expect(await namespaces()).not.toContain(dead);
    expect((await sleeper).signal).toBe('SIGKILL');
    expect(existsSync(undone)).toBe(true);
    expect(existsSync(join(RECORDS, `${gone.pid}.json`))).toBe(false);
    // The control: pid 1 is alive, so its namespace and record stay untouched.
    expect(await namespaces()).toContain(live);
    expect(existsSync(`${undone}-live`)).toBe(false);
    await rm(join(RECORDS, '1.json'), { force: true });
  });

  it('puts ip_forward back only when the last live lab has left', async () => {
    // The recorded value is the current one, so the host's setting does not change here.
    const current = (await execa('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim();
    const was = join(RECORDS, 'ip_forward');
    await writeFile(was, current);
    await writeFile(join(RECORDS, '1.json'), '[]');
    await sweepDeadLabs();
    expect(existsSync(was)).toBe(true); // a live lab (pid 1) still needs forwarding
    await rm(join(RECORDS, '1.json'), { force: true });
    await sweepDeadLabs();
    expect(existsSync(was)).toBe(false);
    expect((await execa('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe(current);
  });
});
