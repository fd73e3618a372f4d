// Progress and logs go to stderr; stdout is kept for the --json result. A live bar on a TTY,
// plain lines at most every few seconds otherwise (CI logs keep every redraw).

export interface Reporter {
  stepStart(title: string): void;
  stepEnd(title: string, ms: number, note?: string): void;
  stepFailed(title: string, ms: number): void;
  info(message: string): void;
  warn(message: string): void;
  /** done/total in bytes (total 0 when unknown). Cheap to call often. */
  progress(label: string, done: number, total: number): void;
  /** Values that must never be printed (presigned URLs, keys). */
  mask(secret: string): void;
  /** The text with every masked value replaced by ***: for what is written elsewhere (a trace, the error line, --json). */
  redact(text: string): string;
}

/** Replaces every secret in `text` with ***, in the order they were masked (a whole URL before its query). */
export function redactAll(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

/**
 * A reporter for one of several pipelines running at once (vm create --count): every line
 * starts with `scope`, and steps are lines rather than sections (an Actions group, a live
 * bar), which parallel pipelines would tangle.
 */
export function scopedReporter(parent: Reporter, scope: string): Reporter {
  return {
    stepStart: (title) => parent.info(`${scope}: ▶ ${title}`),
    stepEnd: (title, ms, note) => parent.info(`${scope}: ✔ ${title} (${fmtMs(ms)})${note ? ` — ${note}` : ''}`),
    stepFailed: (title, ms) => parent.warn(`${scope}: ✖ ${title} (${fmtMs(ms)})`),
    info: (message) => parent.info(`${scope}: ${message}`),
    warn: (message) => parent.warn(`${scope}: ${message}`),
    progress: () => undefined,
    mask: (secret) => parent.mask(secret),
    redact: (text) => parent.redact(text),
  };
}

export interface ConsoleReporterOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** From the environment (Settings.terminal): NO_COLOR set; TERM=dumb or CI (no live bar). */
  terminal?: { noColor: boolean; plain: boolean };
  plainIntervalMs?: number;
  now?: () => number;
}

const fmtMs = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export class ConsoleReporter implements Reporter {
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  private readonly live: boolean;
  private readonly color: boolean;
  private readonly plainIntervalMs: number;
  private readonly now: () => number;
  private readonly secrets: string[] = [];
  private lastDrawn = 0;
  private finishedShown = false;
  private barShown = false;

  constructor(options: ConsoleReporterOptions = {}) {
    const terminal = options.terminal ?? { noColor: false, plain: false };
    this.stream = options.stream ?? process.stderr;
    this.live = Boolean(this.stream.isTTY) && !terminal.plain;
    this.color = this.live && !terminal.noColor;
    this.plainIntervalMs = options.plainIntervalMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  mask(secret: string): void {
    if (secret) this.secrets.push(secret);
  }

  redact(text: string): string {
    return redactAll(text, this.secrets);
  }

  private write(line: string): void {
    if (this.barShown) {
      this.stream.write('\r\x1b[2K');
      this.barShown = false;
    }
    this.stream.write(`${this.redact(line)}\n`);
  }

  private paint(code: string, text: string): string {
    return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  stepStart(title: string): void {
    this.lastDrawn = 0;
    this.finishedShown = false;
    this.write(`${this.paint('1', '▶')} ${title}`);
  }

  stepEnd(title: string, ms: number, note?: string): void {
    this.write(`${this.paint('32', '✔')} ${title} (${fmtMs(ms)})${note ? ` — ${note}` : ''}`);
  }

  stepFailed(title: string, ms: number): void {
    this.write(`${this.paint('31', '✖')} ${title} (${fmtMs(ms)})`);
  }

  info(message: string): void {
    this.write(`  ${message}`);
  }

  warn(message: string): void {
    this.write(`${this.paint('33', 'warning:')} ${message}`);
  }

  progress(label: string, done: number, total: number): void {
    // Callers report every chunk; a redraw at most every 100 ms (live) or few seconds (plain),
    // and the 100% line once (an output may outgrow the size it was estimated at).
    const finished = total > 0 && done >= total;
    if (finished && this.finishedShown) return;
    const t = this.now();
    if (!finished && t - this.lastDrawn < (this.live ? 100 : this.plainIntervalMs)) return;
    this.lastDrawn = t;
    this.finishedShown = finished;
    const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : undefined;
    const amount = total > 0 ? `${formatBytes(done)} / ${formatBytes(total)}` : formatBytes(done);
    if (this.live) {
      const width = 24;
      const filled = pct === undefined ? 0 : Math.round((pct / 100) * width);
      const bar = pct === undefined ? '' : `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct}% `;
      this.stream.write(`\r\x1b[2K  ${this.redact(label)} ${bar}${amount}`);
      this.barShown = true;
      return;
    }
    this.write(`  ${label}: ${amount}${pct === undefined ? '' : ` (${pct}%)`}`);
  }
}

/** For tests and --json pipelines that want silence. */
export class SilentReporter implements Reporter {
  readonly lines: string[] = [];
  private readonly secrets: string[] = [];
  stepStart(title: string): void {
    this.lines.push(`start ${title}`);
  }
  stepEnd(title: string): void {
    this.lines.push(`end ${title}`);
  }
  stepFailed(title: string): void {
    this.lines.push(`failed ${title}`);
  }
  info(message: string): void {
    this.lines.push(message);
  }
  warn(message: string): void {
    this.lines.push(`warning: ${message}`);
  }
  progress(): void {}
  mask(secret: string): void {
    this.secrets.push(secret);
  }
  redact(text: string): string {
    return redactAll(text, this.secrets);
  }
}
