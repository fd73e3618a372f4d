// Reading the signed text of an archive's InRelease (deb822, Debian Policy §5.1 style fields
// plus the checksum sections apt reads).

export interface InRelease {
  /** Every single-line field, by name (Suite, Codename, Date, Valid-Until, ...). */
  fields: Map<string, string>;
  /** The SHA256 section: path relative to dists/<suite>/ → hex digest. */
  sha256: Map<string, string>;
}

export function parseInRelease(text: string): InRelease {
  const fields = new Map<string, string>();
  const sha256 = new Map<string, string>();
  let section = '';
  for (const line of text.split('\n')) {
    const field = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (field) {
      section = field[1]!;
      if (field[2]) fields.set(section, field[2].trim());
      continue;
    }
    if (section === 'SHA256' && /^\s/.test(line)) {
      const [hex, , path] = line.trim().split(/\s+/);
      if (hex && path) sha256.set(path, hex.toLowerCase());
    }
  }
  return { fields, sha256 };
}

const DAY_MS = 86_400_000;

/**
 * Why an InRelease must not be trusted although its signature is good, or undefined: it is
 * for another suite than the URL's dists/<suite>/ (Suite or Codename must name it), or its
 * Valid-Until has passed (by more than graceDays).
 */
export function staleOrOtherSuite(release: InRelease, suite: string, graceDays: number, now = Date.now()): string | undefined {
  const names = [release.fields.get('Suite'), release.fields.get('Codename')].filter(Boolean);
  if (!names.includes(suite)) return `is for ${names.length ? names.join(' / ') : 'no suite'}, not ${suite}`;
  const validUntil = release.fields.get('Valid-Until');
  if (validUntil !== undefined) {
    const until = Date.parse(validUntil);
    if (Number.isNaN(until)) return `has a Valid-Until that is not a date ("${validUntil}")`;
    if (now > until + graceDays * DAY_MS) return `expired on ${new Date(until).toISOString()} (its Valid-Until${graceDays ? `, plus base.validUntilGraceDays ${graceDays}` : ''})`;
  }
  return undefined;
}

/** The digest on a "<sha256>  [./]path" line of a SHA256SUMS file, for one path. */
export function sha256Line(sums: string, path: string): string | undefined {
  for (const line of sums.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(?:\.\/)?(.+)$/i.exec(line.trim());
    if (m?.[2] === path) return m[1]!.toLowerCase();
  }
  return undefined;
}
