// docs/security.md's table of what each CI artifact holds names every artifact the workflows
// upload, with the job that uploads it and how long it is kept, and no other: an artifact
// added to a workflow without a row would be one nobody has checked for secrets.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/project.js';

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}

/** "iso-N (build, 3 days)" for each upload-artifact step of every workflow. */
function uploaded(): string[] {
  const dir = join(ROOT, '.github/workflows');
  const found: string[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    const workflow = yaml.load(readFileSync(join(dir, file), 'utf8')) as { jobs: Record<string, { steps?: Step[] }> };
    for (const [job, { steps = [] }] of Object.entries(workflow.jobs)) {
      for (const step of steps.filter((s) => s.uses?.startsWith('actions/upload-artifact@'))) {
        // The run's own part of a name (a job index, a matrix entry) is the table's N.
        const name = String(step.with?.name).replace(/\$\{\{[^}]*\}\}/g, 'N');
        const days = step.with?.['retention-days'];
        found.push(`${name} (${job}, ${days === undefined ? "the repository's default" : `${days} days`})`);
      }
    }
  }
  return found.sort();
}

/** The first cell of each row of the table under "What each CI artifact holds". */
function documented(): string[] {
  const page = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
  const section = page.split(/^## What each CI artifact holds$/m)[1]?.split(/^## /m)[0] ?? '';
  return [...section.matchAll(/^\| `([^`]+)` \(([^)]+)\) \|/gm)].map((m) => `${m[1]} (${m[2]})`).sort();
}

describe("docs/security.md's artifact table", () => {
  it('names every artifact the workflows upload, its job and how long it is kept, and no other', () => {
    expect(uploaded().length).toBeGreaterThan(0);
    expect(documented()).toEqual(uploaded());
  });

  it('the control: a row missing, or a retention the workflow does not set, is seen', () => {
    const rows = documented();
    expect(rows.slice(1)).not.toEqual(uploaded());
    expect(rows.map((r) => r.replace('3 days', '5 days'))).not.toEqual(uploaded());
  });
});
