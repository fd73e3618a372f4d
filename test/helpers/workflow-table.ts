// The simulator's runs as the tables in docs/ci.md: a row per trigger, a column per job and per
// step that matters. The page holds them between markers and a test keeps them equal.
import type { Run } from './workflow-sim.js';

/**
 * A column: a job ("publish"), one of its steps ("publish.artifact"), or the Sigstore instance
 * an attest step signs with ("build.attest:sigstore"), and its heading.
 */
export type Column = [key: string, heading: string];

export const NOT_RUN = '–';

/** How a job or step fared in one run: runs (×legs), skipped, blocked, or not run at all. */
export function cell(runs: Run[], key: string): string {
  const [path, field] = key.split(':') as [string, string | undefined];
  if (field === 'sigstore') return sigstoreCell(runs, path);
  const [jobId, stepId] = path.split('.') as [string, string | undefined];
  const job = runs.map((r) => r.jobs[jobId]).find(Boolean);
  if (!job) return NOT_RUN;
  if (job.blocked) return stepId ? NOT_RUN : 'fails: environment rule';
  if (job.result === 'skipped') return stepId ? NOT_RUN : 'skipped';
  const times = (n: number) => (n > 1 ? `runs ×${n}` : 'runs');
  if (!stepId) return times(job.legs.length);
  const ran = job.legs.filter((l) => l.steps.find((s) => s.id === stepId)?.ran).length;
  if (!job.legs.every((l) => l.steps.some((s) => s.id === stepId))) throw new Error(`job ${jobId} has no step ${stepId}`);
  return ran === 0 ? 'skipped' : ran === job.legs.length ? times(ran) : `runs in ${ran} of ${job.legs.length}`;
}

/** The instance(s) the attest step signed with where it ran, or NOT_RUN. */
function sigstoreCell(runs: Run[], path: string): string {
  const [jobId, stepId] = path.split('.') as [string, string];
  const job = runs.map((r) => r.jobs[jobId]).find(Boolean);
  const instances = new Set((job?.legs ?? []).flatMap((l) => l.steps.filter((s) => s.id === stepId && s.ran).map((s) => s.sigstore ?? '?')));
  return instances.size ? [...instances].sort().join(' and ') : NOT_RUN;
}

export function markdownTable(rows: { trigger: string; runs: Run[] }[], columns: Column[]): string {
  const lines = [
    `| trigger | ${columns.map(([, h]) => h).join(' | ')} |`,
    `|---|${columns.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.trigger} | ${columns.map(([k]) => cell(r.runs, k)).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** `page` with what is between `<!-- name:start -->` and `<!-- name:end -->` replaced. */
export function withBlock(page: string, name: string, block: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = page.indexOf(start);
  const to = page.indexOf(end);
  if (from < 0 || to < from) throw new Error(`the page has no ${start} … ${end} block`);
  return `${page.slice(0, from + start.length)}\n${block}\n${page.slice(to)}`;
}
