// GitHub Actions mode (GITHUB_ACTIONS=true): secrets and presigned URLs masked, a log group
// per step, warnings and errors as annotations, a job summary table and step outputs. The
// only module that imports @actions/core (ESM-only); outside Actions none of this runs.
// Workflow commands go to stderr (the runner reads both streams), so stdout keeps only the
// --json result; outputs and the summary go to the files Actions names.
import * as core from '@actions/core';
import { formatBytes, redactAll, type Reporter } from './reporter.js';

export interface RunSummary {
  command: string;
  /** Table rows [label, value]. */
  rows: [string, string][];
  outputs: Record<string, string>;
}

// GitHub's escaping for workflow commands: a message can then never end the command early
// or start a line of its own (a forged "::command::" after a newline would be obeyed).
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** `::name key=value,...::message` on stderr (same encoding as @actions/core's issueCommand). */
function command(name: string, message: string, props: Record<string, string> = {}): void {
  const p = Object.entries(props).map(([k, v]) => `${k}=${escapeProperty(v)}`).join(',');
  process.stderr.write(`::${name}${p ? ` ${p}` : ''}::${escapeData(message)}\n`);
}

const fmtMs = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

export interface ActionsFiles {
  /** GITHUB_OUTPUT: where step outputs go. */
  outputFile?: string;
  /** GITHUB_STEP_SUMMARY: where the job summary goes. */
  summaryFile?: string;
}

export class ActionsReporter implements Reporter {
  readonly timings: [string, number][] = [];
  private lastPlain = 0;
  private grouped = false;
  private readonly masked = new Set<string>();

  /** `secrets`: values the runner must hide in every log line (the API and storage keys). */
  constructor(
    secrets: string[],
    private readonly files: ActionsFiles,
  ) {
    for (const secret of secrets) this.mask(secret);
  }

  mask(secret: string): void {
    if (!secret || this.masked.has(secret)) return;
    this.masked.add(secret);
    command('add-mask', secret);
  }

  /** The runner hides masked values in its log; a trace or the job summary needs them out too. */
  redact(text: string): string {
    return redactAll(text, this.masked);
  }

  private line(text: string): void {
    // A line starting with "::" would be run as a workflow command, also one that a relayed
    // message carries after a line break: indent every such line.
    process.stderr.write(`${this.redact(text).replace(/^::/gm, ' ::')}\n`);
  }

  stepStart(title: string): void {
    command('group', title);
    this.grouped = true;
    this.lastPlain = 0;
  }

  stepEnd(title: string, ms: number, note?: string): void {
    this.line(`✔ ${title} (${fmtMs(ms)})${note ? ` — ${note}` : ''}`);
    this.endGroup();
    this.timings.push([title, ms]);
  }

  stepFailed(title: string, ms: number): void {
    this.line(`✖ ${title} (${fmtMs(ms)})`);
    this.endGroup();
    this.timings.push([`${title} (failed)`, ms]);
  }

  private endGroup(): void {
    if (this.grouped) command('endgroup', '');
    this.grouped = false;
  }

  info(message: string): void {
    this.line(`  ${message}`);
  }

  warn(message: string): void {
    command('warning', this.redact(message));
  }

  progress(label: string, done: number, total: number): void {
    const now = Date.now();
    if (now - this.lastPlain < 10_000 && !(total > 0 && done >= total)) return;
    this.lastPlain = now;
    this.line(`  ${label}: ${formatBytes(done)}${total > 0 ? ` / ${formatBytes(total)} (${Math.floor((done / total) * 100)}%)` : ''}`);
  }

  async finish(summary: RunSummary | undefined, error: Error | undefined): Promise<void> {
    if (error) command('error', this.redact(error.message), { title: `vultr-sid-iso ${summary?.command ?? ''}`.trim() });
    // Without GITHUB_OUTPUT, core.setOutput would print the deprecated ::set-output to stdout.
    if (summary && this.files.outputFile) for (const [k, v] of Object.entries(summary.outputs)) core.setOutput(k, v);
    if (!this.files.summaryFile) return;
    const rows = summary?.rows ?? [];
    const s = core.summary.addHeading(`vultr-sid-iso ${summary?.command ?? ''}${error ? ' failed' : ''}`, 3);
    if (error) s.addRaw(`<p>${escapeHtml(this.redact(error.message))}</p>`, true);
    if (rows.length) s.addTable([[{ data: 'What', header: true }, { data: 'Value', header: true }], ...rows.map(([k, v]) => [k, escapeHtml(this.redact(v))])]);
    if (this.timings.length) {
      s.addTable([[{ data: 'Step', header: true }, { data: 'Time', header: true }], ...this.timings.map(([t, ms]) => [escapeHtml(t), fmtMs(ms)])]);
    }
    await s.write();
  }
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
