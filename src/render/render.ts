// Renders every file the ISO carries from the config: the preseed, the cloud-init seed, the
// installer scripts and rootfs/ (each file at its path on the installed system). The result
// is what --render-only writes and exactly what the ISO build packs into the initrd.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fqdn, type Config } from '../config/schema.js';
import { TEMPLATES_DIR } from '../paths.js';
import { compile, createEnvironment } from './handlebars-env.js';
import type { Artifact, Artifacts } from './artifacts.js';
import { WIPE_PARAMETER } from './installer-parameters.js';
import { validateArtifacts } from './validate.js';

/** Packages the late command installs from unstable, plus the config's extras. */
export const TARGET_PACKAGES = ['docker.io', 'ndppd', 'cloud-init', 'openssh-server', 'python3', 'iproute2', 'nftables', 'sudo', 'ca-certificates'];
/**
 * What makes the VM reachable (SSH, and cloud-init to hand it Vultr's keys): installed first,
 * and an install without them fails (templates/installer/late.sh.hbs).
 */
export const ESSENTIAL_PACKAGES = ['openssh-server', 'cloud-init'];

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    // Python's byte-code cache (a py_compile of the boot program) is not a template.
    if (entry.name === '__pycache__') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else yield full;
  }
}

function templateContext(config: Config) {
  const instanceId = `iid-vultr-sid-iso-${createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 12)}`;
  return {
    ...config,
    fqdn: fqdn(config),
    instanceId,
    // A password hash alone gives sudo a password; SSH takes it only when asked to.
    passwordLogin: config.admin.sshPasswordLogin,
    wipeParameter: WIPE_PARAMETER,
    essentials: ESSENTIAL_PACKAGES,
    // Everything else, installed once the essentials are.
    packages: [...new Set([...TARGET_PACKAGES, ...config.installer.packages])].filter((p) => !ESSENTIAL_PACKAGES.includes(p)),
    // What our units need: a user's extra package that cannot be installed must not keep them off.
    unitPackages: TARGET_PACKAGES.filter((p) => !ESSENTIAL_PACKAGES.includes(p)),
  };
}

export async function renderArtifacts(config: Config, templatesDir = TEMPLATES_DIR): Promise<Artifacts> {
  const hb = createEnvironment();
  const context = templateContext(config);
  const out = new Map<string, Artifact>();
  for await (const file of walk(templatesDir)) {
    const rel = relative(templatesDir, file);
    const source = await readFile(file);
    const executable = ((await stat(file)).mode & 0o111) !== 0;
    const target = rel.replace(/\.hbs$/, '');
    const data = rel.endsWith('.hbs') ? Buffer.from(compile(hb, source.toString('utf8'), rel)(context)) : source;
    const mode = target.startsWith('rootfs/etc/sudoers.d/') ? 0o440 : executable || target.endsWith('.sh') ? 0o755 : 0o644;
    out.set(target, { data, mode });
  }
  if (config.admin.sshAuthorizedKeys.length > 0) {
    out.set(`rootfs/home/${config.admin.username}/.ssh/authorized_keys`, {
      data: Buffer.from(`${config.admin.sshAuthorizedKeys.join('\n')}\n`),
      mode: 0o600,
    });
  }
  const sorted: Artifacts = new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  validateArtifacts(sorted);
  return sorted;
}
