// Load the config, render every artifact and validate it; with --render-only, write them out
// for review (DIR/preseed.cfg, DIR/user-data, DIR/meta-data, DIR/installer/, DIR/rootfs/).
import { lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { tempPathFor } from '../../files/atomic-write.js';
import { UserInputError } from '../../pipeline/errors.js';
import type { Step } from '../../pipeline/runner.js';
import { RenderError } from '../../render/handlebars-env.js';
import type { Artifacts } from '../../render/artifacts.js';
import { renderArtifacts } from '../../render/render.js';
import type { BuildState } from './state.js';

export const renderTemplates: Step<BuildState> = {
  title: 'Render and validate templates',
  async run(state, { reporter }) {
    state.config = await loadConfig(state.options.configPath, state.options.settings.secrets);
    const { admin, docker } = state.config;
    if (docker.ipv6 && docker.exposure === 'all-ports') {
      reporter.warn('docker.exposure is all-ports: every port of every container will answer on its public IPv6 address, published or not; use published (the default) unless that is what you want');
    }
    if (admin.passwordHash !== '!') {
      reporter.warn(
        `admin.passwordHash is baked into the ISO, and the ISO is published at a URL: anyone who fetches it can try to crack the hash${admin.sshPasswordLogin ? ', and SSH takes that password (admin.sshPasswordLogin)' : ''}; use a long random password, or "!" for keys only`,
      );
    }
    try {
      state.artifacts = await renderArtifacts(state.config);
    } catch (error) {
      if (error instanceof RenderError) {
        throw new UserInputError(`${state.options.configPath}: ${error.message}; change the value in the config`, { cause: error });
      }
      throw error;
    }
    return `${state.artifacts.size} files`;
  },
};

/**
 * Why DIR may not be replaced by a render, or undefined when it may: it does not exist, or it
 * holds only names a render writes at its top (an earlier render, or an empty directory).
 * Anything else (a file, the working directory, a directory of the user's) is never removed.
 */
async function notReplaceable(artifacts: Artifacts, target: string): Promise<string | undefined> {
  const found = await lstat(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!found) return undefined;
  if (!found.isDirectory()) return 'is not a directory';
  const ours = new Set([...artifacts.keys()].map((rel) => rel.split('/')[0]));
  const foreign = (await readdir(target)).filter((name) => !ours.has(name)).sort();
  if (foreign.length === 0) return undefined;
  const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? `, and ${foreign.length - 3} more` : '');
  return `holds files a render did not write (${shown})`;
}

/** Writes the artifacts into a fresh directory next to dir, then swaps it into place. */
export async function writeArtifactsDir(artifacts: Artifacts, dir: string): Promise<void> {
  const target = resolve(dir);
  const why = await notReplaceable(artifacts, target);
  if (why) throw new UserInputError(`--render-only ${dir} ${why}; pass a new directory, or one an earlier --render-only wrote (which it replaces)`);
  const tmp = tempPathFor(target);
  try {
    for (const [rel, a] of artifacts) {
      const file = join(tmp, rel);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, a.data, { mode: a.mode });
    }
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

export const writeRenderOnly: Step<BuildState> = {
  title: 'Write rendered files',
  async run(state) {
    const dir = state.options.renderOnly!;
    await writeArtifactsDir(state.artifacts!, dir);
    return `into ${dir}`;
  },
};
