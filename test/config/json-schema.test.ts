import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { ROOT } from '../helpers/project.js';

describe('iso.config.schema.json', () => {
  it('is the one generated from the zod schema (run: node dist/scripts/write-config-schema.js)', async () => {
    expect(await readFile(join(ROOT, 'iso.config.schema.json'), 'utf8')).toBe(configJsonSchema());
  });

  it("names every setting in docs/config.md's table of keys (and nothing that is not one)", async () => {
    type Node = { properties?: Record<string, Node> };
    const leaves = (node: Node, path: string[] = []): string[] =>
      node.properties ? Object.entries(node.properties).flatMap(([k, v]) => leaves(v, [...path, k])) : [path.join('.')];
    const schema = leaves(JSON.parse(configJsonSchema()) as Node).sort();
    const page = await readFile(join(ROOT, 'docs/config.md'), 'utf8');
    // The "## Keys" section, up to the next "## " heading (the environment table has rows too).
    const start = page.indexOf('\n## Keys\n');
    expect(start, 'docs/config.md has a "## Keys" section').toBeGreaterThanOrEqual(0);
    const next = page.indexOf('\n## ', start + 1);
    const section = page.slice(start, next < 0 ? undefined : next);
    // "| `installer.locale`, `.keyboard` | ..." names installer.locale and installer.keyboard.
    const documented = section
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .flatMap((row) => {
        const names = [...row.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
        const parent = names[0]!.split('.').slice(0, -1).join('.');
        return names.map((n) => (n.startsWith('.') ? `${parent}${n}` : n));
      })
      .sort();
    expect(documented).toEqual(schema);
  });

  it('refuses unknown keys, like the loader', () => {
    const schema = JSON.parse(configJsonSchema());
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.docker.additionalProperties).toBe(false);
  });
});
