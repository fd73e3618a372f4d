// The command's committed entry point (bin/vultr-sid-iso.js): in a clone that has not been set
// up, `npx vultr-sid-iso` finds it and says what to run, instead of the shell's "not found";
// set up, it is the CLI. (Installed from the packed tarball: test/cli/packed.slow.test.ts.)
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/project.js';

describe('npx vultr-sid-iso', () => {
  it('in a clone not yet set up (no dist/, no node_modules): one line naming the clone and npm run setup, exit 2', async () => {
    const clone = await tempDir();
    await mkdir(join(clone, 'bin'));
    await copyFile(join(ROOT, 'package.json'), join(clone, 'package.json'));
    await copyFile(join(ROOT, 'bin/vultr-sid-iso.js'), join(clone, 'bin/vultr-sid-iso.js'));
    const r = await execa('npx', ['vultr-sid-iso', '--version'], { cwd: clone, reject: false, env: { npm_config_offline: 'true', npm_config_update_notifier: 'false' } });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(`vultr-sid-iso: the CLI is not compiled in ${clone}/; run npm run setup there first (it installs the node modules and compiles the CLI)`);
  });

  it('the control: in this clone, set up, it is the CLI', async () => {
    const r = await execa('npx', ['vultr-sid-iso', '--version'], { cwd: ROOT, reject: false, env: { npm_config_offline: 'true', npm_config_update_notifier: 'false' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
