// The lab's way to its installed VM, as the acceptance run's container check takes it
// (public-container.ts's VmAccess): SSH from the router namespace as the admin with the
// metadata's key, and the router as the outside, fetching with curl (the same arguments and
// the same reading of its answer as the real run's outside).
import type { Target } from '../lab/installed-checks.js';
import { curlAnswer, curlArgs, type VmAccess } from './public-container.js';

export function labAccess(t: Pick<Target, 'vm' | 'lab' | 'key' | 'admin'>): VmAccess {
  return {
    async ssh(command) {
      const r = await t.vm.ssh(t.key, t.admin, command);
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    async fromOutside(url) {
      const r = await t.lab.router(['curl', ...curlArgs(url)], { reject: false });
      return curlAnswer({ exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) });
    },
  };
}
