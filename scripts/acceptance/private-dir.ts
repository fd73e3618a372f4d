// Where the acceptance run keeps what must never reach its --out directory (which the nightly
// uploads as an artifact that any signed-in GitHub user can download): the throwaway SSH key,
// which logs in as the admin (passwordless sudo), the user-data that carries its public half,
// and the run's config (which may hold admin.passwordHash). A private directory (mode 0700)
// under the runner's temporary directory on Actions (RUNNER_TEMP, which the runner empties at
// the start and end of every job: GitHub's docs, "Variables reference"), else under the
// system's; removed when the run ends, also after a failure, an exception or Ctrl-C.
import { execa } from 'execa';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateDir {
  path: string;
  /** Removes it and everything in it; safe to call more than once, and from an exit handler. */
  remove(): void;
}

/** A private directory for one run, removed when the process exits, whichever way. */
export async function privateDir(env: NodeJS.ProcessEnv = process.env): Promise<PrivateDir> {
  const path = await mkdtemp(join(env.RUNNER_TEMP || tmpdir(), 'vsi-acceptance-'));
  const remove = () => rmSync(path, { recursive: true, force: true });
  process.once('exit', remove);
  return { path, remove };
}

/** An ed25519 key pair without a passphrase in `dir`; returns the private key's path and the public line. */
export async function throwawayKey(dir: string, comment: string): Promise<{ key: string; publicKey: string }> {
  const key = join(dir, 'id_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', key]);
  return { key, publicKey: (await readFile(`${key}.pub`, 'utf8')).trim() };
}
