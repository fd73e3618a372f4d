// cloud-init's own first boot on the installed system's configuration: which datasource wins
// and what the users, SSH and hostname modules are then told to do. first-boot.py runs
// Debian's cloud-init (datasource search, metadata fetch, user-data and vendor-data handling,
// config merge) in a network namespace that serves Vultr's metadata at 169.254.169.254, and
// stops before any module changes this machine.
import { execa } from 'execa';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLOUD_SYSTEM_CONFIG, CLOUD_SYSTEM_CONFIG_TARGET } from '../../src/render/validate.js';
import { Lab, VM_MAC } from '../helpers/netns.js';
import { ROOT, tempDir, useRenderedConfig } from '../helpers/project.js';

const HARNESS = join(ROOT, 'test/cloud-init/first-boot.py');
const VULTR_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFromVultrSshKeyId vultr-ssh-key';

interface FirstBoot {
  datasource: string;
  instanceId: string;
  publicKeys: string[];
  defaultUser: string;
  defaultUserConfig: Record<string, unknown>;
  users: string[];
  disableRoot: unknown;
  sshPwauth: unknown;
  sshDeletekeys: unknown;
  chpasswd: unknown;
  runcmd: unknown;
  hostname: string;
  fqdn: string;
  vendorConfigStored: boolean;
}

/** Vultr's /v1.json for an instance made by `vm create --hostname web1.example.com --ssh-key … --user-data …`. */
const vultrMetadata = {
  hostname: 'web1.example.com',
  'instance-v2-id': '7a1b2c3d-0000-4000-8000-000000000000',
  instanceid: '51234567',
  region: { regioncode: 'EWR' },
  'public-keys': [VULTR_KEY],
  'user-data': '#cloud-config\nruncmd:\n  - [touch, /run/from-vultr-user-data]\n',
  // The shape and content of Vultr's vendor-data as in cloud-init's own Vultr test fixture.
  'vendor-data': [
    '#cloud-config\npackage_upgrade: true\ndisable_root: 0\nssh_pwauth: 1\nchpasswd:\n  expire: false\n  list:\n    - root:$6$S2Smuj.../VqxmIR9Urw0jPZ88i4yvB/\nsystem_info:\n  default_user:\n    name: root\n',
  ],
  interfaces: [
    {
      mac: VM_MAC,
      'network-type': 'public',
      ipv4: { address: '203.0.113.10', netmask: '255.255.254.0', gateway: '203.0.113.1', additional: [] },
      ipv6: { address: '2001:db8:5:56c2:5400:ff:fe20:2295', network: '2001:db8:5:56c2::', prefix: '64', additional: [] },
    },
  ],
};

const rendered = useRenderedConfig();

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.destroy();
  lab = undefined;
});

/**
 * The installed system's cloud-init files: the distribution's cloud.cfg (this machine's), our
 * drop-in and the installer's NoCloud seed. The test's own drop-in only moves cloud-init's
 * state and log into the tree.
 */
async function installedTree(edit: (systemConfig: string) => string = (s) => s): Promise<string> {
  const target = join(await tempDir(), 'target');
  const confd = join(target, 'etc/cloud/cloud.cfg.d');
  const seed = join(target, 'var/lib/cloud/seed/nocloud');
  await mkdir(confd, { recursive: true });
  await mkdir(seed, { recursive: true });
  await cp('/etc/cloud/cloud.cfg', join(target, 'etc/cloud/cloud.cfg'));
  await writeFile(join(target, CLOUD_SYSTEM_CONFIG_TARGET), edit(await readFile(join(rendered.dir, CLOUD_SYSTEM_CONFIG), 'utf8')));
  await cp(join(rendered.dir, 'user-data'), join(seed, 'user-data'));
  await cp(join(rendered.dir, 'meta-data'), join(seed, 'meta-data'));
  await writeFile(
    join(confd, '99-test-state.cfg'),
    `system_info:\n  paths:\n    cloud_dir: ${target}/var/lib/cloud\n    run_dir: ${target}/run/cloud-init\ndef_log_file: ${target}/var/log/cloud-init.log\n`,
  );
  return target;
}

/** A namespace for the VM: its uplink (Lab.withUplink) and, optionally, the metadata service. */
async function vm(metadata?: object): Promise<Lab> {
  const l = await Lab.withUplink();
  if (metadata) {
    await l.serveMetadata(l.vm, join(await tempDir(), 'v1.json'), metadata);
    // cloud-init's Vultr datasource only reads the metadata over a route to its address.
    await l.exec(l.vm, ['ip', 'route', 'add', '169.254.169.254', 'dev', 'enp1s0']);
  }
  return l;
}

/** cloud-init's first boot in the VM namespace. `cmdline` stands in for /proc/cmdline (cloud-init's own DEBUG_PROC_CMDLINE). */
async function firstBoot(l: Lab, target: string, cmdline: string): Promise<FirstBoot> {
  const r = await execa('ip', ['netns', 'exec', l.vm, 'env', `DEBUG_PROC_CMDLINE=${cmdline}`, '/usr/bin/python3', HARNESS, target], { reject: false, timeout: 60_000 });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as FirstBoot;
}

// The default admin has no password ("!"): nothing to unlock, so cloud-init is asked to lock it.
const admin = { gecos: 'Debian admin', lock_passwd: true, sudo: null, shell: '/bin/bash' };

describe('cloud-init on the installed system', () => {
  it('on Vultr: the SSH keys, hostname and user-data given at VM creation apply, Vultr vendor-data does not', { timeout: 120_000 }, async () => {
    lab = await vm(vultrMetadata);
    const out = await firstBoot(lab, await installedTree(), 'BOOT_IMAGE=/vmlinuz root=/dev/vda1 vultr');
    expect(out.datasource).toBe('Vultr');
    expect(out.instanceId).toBe(vultrMetadata['instance-v2-id']);
    // cc_ssh adds the datasource's keys to the default user: the installer's admin.
    expect(out.publicKeys).toEqual([VULTR_KEY]);
    expect(out.defaultUser).toBe('debian');
    expect(out.defaultUserConfig).toMatchObject(admin);
    expect(out.users).toEqual(['debian']);
    expect({ hostname: out.hostname, fqdn: out.fqdn }).toEqual({ hostname: 'web1', fqdn: 'web1.example.com' });
    expect(out.runcmd).toEqual([['touch', '/run/from-vultr-user-data']]);
    // Vultr's vendor-data would enable root password login over SSH.
    expect({ disableRoot: out.disableRoot, sshPwauth: out.sshPwauth, chpasswd: out.chpasswd, vendor: out.vendorConfigStored }).toEqual({
      disableRoot: true,
      sshPwauth: false,
      chpasswd: null,
      vendor: false,
    });
    // New host keys once per instance.
    expect(out.sshDeletekeys).toBe(true);
  });

  it('the fake vendor-data is what Vultr would apply: without our switch it takes effect', { timeout: 120_000 }, async () => {
    lab = await vm(vultrMetadata);
    const withVendorData = (s: string) => s.replace(/^vendor_data:\n {2}enabled: false\n/m, '');
    const target = await installedTree(withVendorData);
    expect(await readFile(join(target, CLOUD_SYSTEM_CONFIG_TARGET), 'utf8')).not.toMatch(/vendor_data/);
    const out = await firstBoot(lab, target, 'BOOT_IMAGE=/vmlinuz vultr');
    expect(out.datasource).toBe('Vultr');
    expect({ disableRoot: out.disableRoot, sshPwauth: out.sshPwauth, vendor: out.vendorConfigStored }).toEqual({ disableRoot: 0, sshPwauth: 1, vendor: true });
  });

  it('elsewhere (no Vultr, no metadata service): the NoCloud seed from the ISO applies', { timeout: 120_000 }, async () => {
    lab = await vm();
    const out = await firstBoot(lab, await installedTree(), 'BOOT_IMAGE=/vmlinuz root=/dev/vda1');
    expect(out.datasource).toBe('NoCloud');
    expect(out.instanceId).toMatch(/^iid-vultr-sid-iso-/);
    expect(out.publicKeys).toEqual([]);
    expect(out.defaultUser).toBe('debian');
    expect(out.defaultUserConfig).toMatchObject(admin);
    expect({ hostname: out.hostname, disableRoot: out.disableRoot, sshPwauth: out.sshPwauth }).toEqual({ hostname: 'debian', disableRoot: true, sshPwauth: false });
  });
});
