// Remembers the digests of large files by their identity on disk (device, inode, size,
// mtime and ctime in nanoseconds), as git's index does, so an unchanged base image is not
// hashed again on every build: at 700 MB that is a second and a half of CPU that would
// otherwise compete with xorriso. Any change to the file changes its ctime, which nobody can
// set by hand, so a stale entry cannot match. Best effort: a memo that cannot be read or
// written only means hashing again.
import { readFile, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';

export type Digests = { sha512: string; sha256?: string };

interface Entry {
  identity: string;
  digests: Digests;
}

// A file changed within this long before it was hashed might change again within the same
// timestamp tick without its ctime moving ("racy git"); such a file is not remembered.
const SETTLED_MS = 2000;
const MAX_ENTRIES = 32;

async function identityOf(path: string): Promise<{ real: string; identity: string; ctimeNs: bigint }> {
  const real = await realpath(path);
  const s = await stat(real, { bigint: true });
  return { real, identity: [s.dev, s.ino, s.size, s.mtimeNs, s.ctimeNs].join(':'), ctimeNs: s.ctimeNs };
}

/** Changes whenever the file's bytes, times or inode change (see above). */
export async function fileIdentity(path: string): Promise<string> {
  return (await identityOf(path)).identity;
}

export class DigestMemo {
  constructor(
    private readonly file: string,
    private readonly settledMs = SETTLED_MS,
  ) {}

  static inCacheDir(cacheDir: string): DigestMemo {
    return new DigestMemo(join(resolve(cacheDir), 'digests.json'));
  }

  private async load(): Promise<Record<string, Entry>> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as Record<string, Entry>;
    } catch {
      return {};
    }
  }

  /** The digests recorded for this exact file, if it has not changed since. */
  async lookup(path: string): Promise<Digests | undefined> {
    try {
      const { real, identity } = await identityOf(path);
      const entry = (await this.load())[real];
      return entry?.identity === identity ? entry.digests : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Call before hashing; the returned function records the digests if the file is still the
   * one that was hashed.
   */
  async begin(path: string): Promise<(digests: Digests) => Promise<void>> {
    const wallStartNs = BigInt(Date.now()) * 1_000_000n;
    let before: Awaited<ReturnType<typeof identityOf>> | undefined;
    try {
      before = await identityOf(path);
    } catch {
      before = undefined;
    }
    return async (digests) => {
      if (!before || wallStartNs - before.ctimeNs < BigInt(this.settledMs) * 1_000_000n) return;
      try {
        const after = await identityOf(path);
        if (after.identity !== before.identity) return;
        const entries = await this.load();
        delete entries[before.real]; // re-added last: the newest entries are the ones kept
        entries[before.real] = { identity: before.identity, digests };
        const kept = Object.fromEntries(Object.entries(entries).slice(-MAX_ENTRIES));
        await writeFileAtomic(this.file, `${JSON.stringify(kept, null, 2)}\n`);
      } catch {
        // not remembered: the next build hashes again
      }
    };
  }
}
