// What rendering produces: every file the ISO carries, by its path among the artifacts.
import { createHash } from 'node:crypto';

export interface Artifact {
  data: Buffer;
  mode: number;
}

/** Relative path (e.g. "preseed.cfg", "rootfs/etc/ndppd.conf") → content. Sorted by path. */
export type Artifacts = Map<string, Artifact>;

/** A stable digest of all artifacts (paths, modes and bytes), part of the ISO's input hash. */
export function artifactsDigest(artifacts: Artifacts): string {
  const h = createHash('sha256');
  for (const [path, a] of artifacts) h.update(`${path}\0${a.mode.toString(8)}\0${a.data.length}\0`).update(a.data);
  return h.digest('hex');
}
