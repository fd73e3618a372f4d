// The real acceptance run's way to its Vultr VM (scripts/acceptance/public-container.ts's
// VmAccess): SSH as the admin with the run's throwaway key, and curl from the machine the run
// is on as the outside, when that machine has an IPv6 default route.
import { execa } from 'execa';
import { setTimeout as delay } from 'node:timers/promises';
import { curlAnswer, curlArgs, type CommandResult, type VmAccess } from './public-container.js';

/** ssh USER@HOST COMMAND with KEY; never throws (exit 255 is SSH's own failure). */
export function sshAccess(key: string, host: string, user: string): VmAccess {
  return {
    async ssh(command: string): Promise<CommandResult> {
      const r = await execa('ssh', ['-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=15', `${user}@${host}`, command], { reject: false, timeout: 300_000 });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
  };
}

/** This machine as the outside: curl over IPv6. */
export async function fromHere(url: string) {
  return curlAnswer(await execa('curl', ['-6', ...curlArgs(url)], { reject: false }));
}

/**
 * Logs in until it works (`tries` times, `pauseMs` apart): vm create returns once the
 * installed system's sshd answers, which may be a moment before it takes the key.
 */
export async function waitForLogin(vm: VmAccess, tries: number, pauseMs: number): Promise<CommandResult> {
  for (let n = 1; ; n++) {
    const r = await vm.ssh('true');
    if (r.exitCode === 0 || n >= tries) return r;
    await delay(pauseMs);
  }
}
