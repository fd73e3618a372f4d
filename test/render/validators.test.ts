// The committed config's rendered artifacts pass Debian's own validators.
import { execa } from 'execa';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { checkCloudConfig, checkCloudSystemConfig, CLOUD_CONFIG_KEYS, CLOUD_SYSTEM_CONFIG } from '../../src/render/validate.js';
import { tempDir, useRenderedConfig } from '../helpers/project.js';

const rendered = useRenderedConfig();

describe('rendered artifacts of the committed config', () => {
  it('contain exactly the contract files', async () => {
    const entries = (await readdir(rendered.dir)).sort();
    expect(entries).toEqual(['installer', 'meta-data', 'preseed.cfg', 'rootfs', 'user-data']);
  });

  it('preseed passes debconf-set-selections --checkonly', async () => {
    await execa('debconf-set-selections', ['--checkonly', join(rendered.dir, 'preseed.cfg')]);
  });

  it('user-data passes cloud-init schema and our top-level key check', async () => {
    const { stdout } = await execa('cloud-init', ['schema', '--config-file', join(rendered.dir, 'user-data')]);
    expect(stdout).toContain('Valid cloud-config');
    checkCloudConfig(await readFile(join(rendered.dir, 'user-data'), 'utf8'));
    const meta = yaml.load(await readFile(join(rendered.dir, 'meta-data'), 'utf8')) as Record<string, string>;
    expect(meta['instance-id']).toMatch(/^iid-vultr-sid-iso-/);
  });

  it("cloud-init's system config drop-in passes cloud-init schema and our key check", async () => {
    const text = await readFile(join(rendered.dir, CLOUD_SYSTEM_CONFIG), 'utf8');
    checkCloudSystemConfig(text);
    // cloud-init schema reads only files that say they are cloud-config; the module keys
    // (users, ssh_pwauth, disable_root, ...) are the same in system config.
    const copy = join(rendered.top, 'system-config.yaml');
    await writeFile(copy, `#cloud-config\n${text}`);
    const { stdout } = await execa('cloud-init', ['schema', '--config-file', copy]);
    expect(stdout).toContain('Valid cloud-config');
    expect(() => checkCloudSystemConfig('datasource_lists: [ None ]\n')).toThrow(/unknown top-level keys: datasource_lists/);
  });

  it('our key check catches a top-level typo that Debian 12 cloud-init accepts', () => {
    expect(CLOUD_CONFIG_KEYS.has('write_file')).toBe(false);
    expect(() => checkCloudConfig('#cloud-config\nwrite_file: []\n')).toThrow(/unknown top-level keys: write_file/);
  });

  it('shell scripts pass shellcheck and the boot program compiles', async () => {
    const scripts = (await readdir(join(rendered.dir, 'installer'))).map((f) => join(rendered.dir, 'installer', f));
    await execa('shellcheck', ['-x', '-s', 'sh', ...scripts]);
    const sbin = join(rendered.dir, 'rootfs/usr/local/sbin');
    const shScripts = [];
    for (const f of await readdir(sbin)) if ((await readFile(join(sbin, f), 'utf8')).startsWith('#!/bin/sh\n')) shScripts.push(join(sbin, f));
    expect(shScripts.length).toBe(5);
    // -x: they source our libraries from /usr/local/lib/vultr-sid-iso (source= names them).
    const lib = join(rendered.dir, 'rootfs/usr/local/lib/vultr-sid-iso');
    const libs = (await readdir(lib)).map((f) => join(lib, f));
    const others = ['rootfs/usr/local/bin/vultr-sid-status', 'rootfs/etc/update-motd.d/60-vultr-sid-status'].map((f) => join(rendered.dir, f));
    await execa('shellcheck', ['-x', '-s', 'sh', ...shScripts, ...libs, ...others], { cwd: sbin });
    await execa('shellcheck', ['-s', 'sh', 'scripts/ensure-setup.sh', 'scripts/fixtures/fetch-debs.sh']);
    await execa('shellcheck', ['-s', 'bash', 'scripts/fixtures/build-standin-iso.sh']);
    for (const program of ['vultr-sid-ipv6', 'vultr-sid-ndp-proxy']) await execa('python3', ['-m', 'py_compile', join(rendered.dir, 'rootfs/usr/local/sbin', program)]);
  });

  it('systemd units pass systemd-analyze verify', { timeout: 60_000 }, async () => {
    // A root with the host's own units (for sysinit.target and friends) plus our files.
    const root = await tempDir();
    await mkdir(join(root, 'usr/lib/systemd'), { recursive: true });
    await cp('/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
    await cp(join(rendered.dir, 'rootfs'), root, { recursive: true });
    await mkdir(join(root, 'usr/sbin'), { recursive: true });
    await cp('/usr/sbin/ndppd', join(root, 'usr/sbin/ndppd'));
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await cp('/usr/bin/systemctl', join(root, 'usr/bin/systemctl'));
    // Docker's unit as docker.io ships it, in outline, so that our drop-in for it is read too.
    await cp('/usr/bin/true', join(root, 'usr/sbin/dockerd'));
    await writeFile(join(root, 'usr/lib/systemd/system/docker.service'), '[Unit]\nDescription=Docker (stand-in)\n[Service]\nExecStart=/usr/sbin/dockerd\n[Install]\nWantedBy=multi-user.target\n');
    const units = (await readdir(join(root, 'etc/systemd/system'))).filter((u) => /\.(service|timer)$/.test(u)).map((u) => join(root, 'etc/systemd/system', u));
    expect(units.length).toBe(8);
    units.push(join(root, 'usr/lib/systemd/system/docker.service'));
    const r = await execa('systemd-analyze', ['verify', `--root=${root}`, ...units], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('JSON files parse', async () => {
    const json = JSON.parse(await readFile(join(rendered.dir, 'rootfs/etc/vultr-sid-iso/ipv6.json'), 'utf8'));
    expect(json).toEqual({ docker: { ipv6: true, subnet: 'auto', exposure: 'published', network: 'public' }, ndppd: { enabled: true }, uplink: 'auto' });
  });

  it('a sudoers file that visudo would accept and a key-only sshd drop-in', async () => {
    const sudoers = await readFile(join(rendered.dir, 'rootfs/etc/sudoers.d/90-vultr-sid-iso'), 'utf8');
    expect(sudoers).toContain('debian ALL=(ALL:ALL) NOPASSWD: ALL');
    const sshd = await readFile(join(rendered.dir, 'rootfs/etc/ssh/sshd_config.d/10-vultr-sid-iso.conf'), 'utf8');
    expect(sshd).toContain('PasswordAuthentication no');
  });
});
