// The JSON examples the pages show (```json blocks), and their shape: the docs tests hold them
// to what the CLI prints (test/docs/json.test.ts; the manifest, which needs a real build, in
// test/build/structure.slow.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blocks } from './markdown.js';
import { ROOT } from './project.js';

/** Every ```json block of a page, parsed (a "…" stands for what the example leaves out). */
export function jsonExamples(page: string): unknown[] {
  return blocks(readFileSync(join(ROOT, page), 'utf8'))
    .filter((b) => b.kind === 'code' && b.lang === 'json')
    .map((b) => JSON.parse(b.text) as unknown);
}

/** The manifest example of docs/building.md ("## The manifest"). */
export function documentedManifest(): Record<string, unknown> {
  const found = jsonExamples('docs/building.md').filter((j): j is Record<string, unknown> => typeof j === 'object' && j !== null && 'bootEntries' in j);
  if (found.length !== 1) throw new Error(`docs/building.md has ${found.length} manifest examples, not 1`);
  return found[0]!;
}

/**
 * The dotted paths of every key in `value`, arrays as "[]" with the keys of all their elements
 * ("bootEntries[].id"); a "…" key or element (the example's ellipsis) is left out.
 */
export function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((v) => keyPaths(v, `${prefix}[]`)))].sort();
  if (typeof value !== 'object' || value === null) return prefix ? [prefix] : [];
  return Object.entries(value)
    .filter(([k]) => k !== '…')
    .flatMap(([k, v]) => keyPaths(v, prefix ? `${prefix}.${k}` : k))
    .sort();
}
