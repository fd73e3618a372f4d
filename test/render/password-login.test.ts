// SSH password login is its own opt-in: a password hash alone gives sudo a password, never
// SSH; and a build with a hash warns that the hash is published with the ISO.
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { renderArtifacts } from '../../src/render/render.js';
import { runCli, tempDir } from '../helpers/project.js';

const HASH = '$6$abcdefgh$' + 'A'.repeat(86);
const sshd = async (yaml: string) => (await renderArtifacts(parseConfig(yaml, 'c.yaml'))).get('rootfs/etc/ssh/sshd_config.d/10-vultr-sid-iso.conf')!.data.toString();
const cloud = async (yaml: string) => (await renderArtifacts(parseConfig(yaml, 'c.yaml'))).get('rootfs/etc/cloud/cloud.cfg.d/90-vultr-sid-iso.cfg')!.data.toString();

describe('SSH password login', () => {
  it('stays off with a password hash set (sudo gets the password, SSH does not)', async () => {
    const yaml = `admin:\n  passwordHash: "${HASH}"\n  sudo: password\n`;
    expect(await sshd(yaml)).toMatch(/^PasswordAuthentication no$/m);
    expect(await cloud(yaml)).toMatch(/^ssh_pwauth: false$/m);
  });

  it('is on only when asked for', async () => {
    const yaml = `admin:\n  passwordHash: "${HASH}"\n  sshPasswordLogin: true\n`;
    expect(await sshd(yaml)).toMatch(/^PasswordAuthentication yes$/m);
    expect(await cloud(yaml)).toMatch(/^ssh_pwauth: true$/m);
  });

  it('a build with a password hash warns that the hash is published with the ISO; without one it does not', async () => {
    const dir = await tempDir();
    const config = join(dir, 'c.yaml');
    await writeFile(config, `admin:\n  passwordHash: "${HASH}"\n`);
    const r = await runCli(['build', '--config', config, '--render-only', join(dir, 'out')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: admin.passwordHash is baked into the ISO, and the ISO is published at a URL');
    expect(await readFile(join(dir, 'out/rootfs/etc/ssh/sshd_config.d/10-vultr-sid-iso.conf'), 'utf8')).toContain('PasswordAuthentication no');
    const plain = await runCli(['build', '--render-only', join(dir, 'out2')]);
    expect(plain.stderr).not.toContain('passwordHash');
  });
});
