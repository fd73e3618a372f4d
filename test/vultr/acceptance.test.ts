// The acceptance run on a real account (scripts/acceptance-vultr.ts) cannot run here; what
// can: it refuses without its flag and credentials, and --dry-run prints its plan, touching
// nothing.
import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/project.js';

const SCRIPT = join(ROOT, 'dist/scripts/acceptance-vultr.js');
const run = (args: string[], env: Record<string, string>) =>
  execa(process.execPath, [SCRIPT, ...args], { reject: false, cwd: ROOT, env: { PATH: process.env.PATH!, ...env }, extendEnv: false });

describe('npm run acceptance:vultr', () => {
  it('refuses to run without VULTR_ACCEPTANCE=1 and credentials (exit 2), saying what is missing', async () => {
    const bare = await run([], {});
    expect(bare.exitCode).toBe(2);
    expect(bare.stderr).toContain('refusing to run: it creates billed resources on a real Vultr account; set VULTR_ACCEPTANCE=1, VULTR_API_KEY, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    const flagOnly = await run([], { VULTR_ACCEPTANCE: '1' });
    expect(flagOnly.exitCode).toBe(2);
    expect(flagOnly.stderr).toContain('set VULTR_API_KEY, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    const keysNoFlag = await run([], { VULTR_API_KEY: 'k', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's' });
    expect(keysNoFlag.exitCode).toBe(2);
    expect(keysNoFlag.stderr).toContain('set VULTR_ACCEPTANCE=1 ');
  });

  it('--dry-run prints the plan, needing neither flag nor credentials', async () => {
    const r = await run(['--dry-run', '--run-id', 'test-1', '--region', 'ams', '--no-ipv6-check'], {});
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('VMs tagged vsi-acceptance-test-1');
    for (const step of ['1. build', '2. publish', '3. vm create: --region ams', '4. ssh in', '5. from here', '(skipped: --no-ipv6-check)', '6. always: delete every VM tagged vsi-acceptance-test-1']) {
      expect(r.stdout).toContain(step);
    }
  });
});
