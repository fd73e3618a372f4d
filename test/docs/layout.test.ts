// docs/architecture.md's layout names every folder and file of src/, and in each folder's line
// every module and subfolder in it, so that a new module (src/steps/unanswered-create.ts once
// was not) cannot go unmentioned. A module counts as named by its file name, with its hyphens
// written as hyphens or spaces ("hash-worker" or "hash worker"), singular or plural.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blocks } from '../helpers/markdown.js';
import { ROOT } from '../helpers/project.js';

/** The layout block's lines by the path they start with ("src/steps/" → its description). */
function layout(page: string): Map<string, string> {
  const block = blocks(page).find((b) => b.kind === 'code' && b.text.startsWith('src/'));
  const rows = new Map<string, string>();
  let last = '';
  for (const line of block?.text.split('\n') ?? []) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (m) rows.set((last = m[1]!), m[2]!);
    // A description continued on the next line, indented.
    else if (last && line.trim()) rows.set(last, `${rows.get(last)} ${line.trim()}`);
  }
  return rows;
}

/** What the layout leaves out of src/: "src/steps/unanswered-create.ts", "src/x.ts". */
export function unnamed(page: string, src = join(ROOT, 'src')): string[] {
  const rows = layout(page);
  const problems: string[] = [];
  for (const entry of readdirSync(src).sort()) {
    const isDir = statSync(join(src, entry)).isDirectory();
    const path = `src/${entry}${isDir ? '/' : ''}`;
    const description = rows.get(path);
    if (description === undefined) {
      problems.push(`${path}: no line of the layout`);
      continue;
    }
    if (!isDir) continue;
    const text = description.toLowerCase();
    for (const child of readdirSync(join(src, entry)).sort()) {
      const sub = statSync(join(src, entry, child)).isDirectory();
      const name = child.replace(/\.ts$/, '');
      const pattern = new RegExp(`(^|[^a-z0-9-])${name.replace(/-/g, '[- ]')}s?${sub ? '/' : ''}($|[^a-z0-9-])`);
      if (!pattern.test(text)) problems.push(`src/${entry}/${child}: not named on the line of ${path}`);
    }
  }
  return problems;
}

describe("docs/architecture.md's layout", () => {
  const page = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');

  it('names every folder and file of src/, and every module of each folder', () => {
    expect(unnamed(page)).toEqual([]);
  });

  it('the control: a module left off its folder\'s line, and a folder with no line, are caught', () => {
    expect(page).toContain('unanswered-create');
    expect(unnamed(page.replace('unanswered-create', 'unanswered'))).toEqual(['src/steps/unanswered-create.ts: not named on the line of src/steps/']);
    expect(unnamed(page.replace(/^src\/net\/.*$/m, ''))).toEqual(['src/net/: no line of the layout']);
  });
});
