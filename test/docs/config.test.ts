// The config's three faces agree with its schema, so that a key is described and defaulted the
// same way everywhere: the committed iso.config.yaml is the defaults with each key's
// description (written from the schema), and docs/config.md's table gives each key the schema's
// default and starts its meaning with the schema's description (which iso.config.schema.json
// carries to editors). Before, boot.timeout was "seconds before the automated install starts"
// in all of them while the menu boots the installed system when there is one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { exampleConfigYaml } from '../../src/config/example-yaml.js';
import { configSchema } from '../../src/config/schema.js';
import { renderedText } from '../helpers/markdown.js';
import { ROOT } from '../helpers/project.js';

interface Key {
  description?: string;
  default?: unknown;
  /** A retired key (z.never()): refused with its own message; left out of the example file. */
  not?: unknown;
}

/** Every leaf key of the schema by its dotted path, with its default and description. */
function schemaKeys(): Map<string, Key> {
  type Node = Key & { properties?: Record<string, Node> };
  const keys = new Map<string, Key>();
  const walk = (node: Node, path: string[]) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      if (child.properties) walk(child, [...path, name]);
      else keys.set([...path, name].join('.'), child);
    }
  };
  walk(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Node, []);
  return keys;
}

/**
 * Defaults too long for a cell (a URL, lists of 40-digit fingerprints), written in words: the
 * words must be the ones the description uses for the default.
 */
const DEFAULTS_IN_WORDS = new Set(['base.url', 'base.fingerprints', 'base.archiveFingerprints']);

/** A table row's cells, split at the "|" outside code spans. */
function cells(row: string): string[] {
  const out: string[] = [];
  let cell = '';
  let code = false;
  for (const ch of row.trim().replace(/^\||\|$/g, '')) {
    if (ch === '`') code = !code;
    if (ch === '|' && !code) {
      out.push(cell.trim());
      cell = '';
    } else cell += ch;
  }
  out.push(cell.trim());
  return out;
}

/** What is wrong with docs/config.md's table of keys against the schema: one line each. */
export function tableProblems(page: string, keys: Map<string, Key>): string[] {
  const start = page.indexOf('\n## Keys\n');
  const end = page.indexOf('\n## ', start + 1);
  const rows = page.slice(start, end < 0 ? undefined : end).split('\n').filter((l) => l.startsWith('| `'));
  const problems: string[] = [];
  for (const row of rows) {
    const [keyCell = '', defaultCell = '', meaning = ''] = cells(row);
    const name = /^`([^`]+)`$/.exec(keyCell)?.[1];
    const key = name === undefined ? undefined : keys.get(name);
    if (!name || !key) {
      problems.push(`${keyCell}: not one key of the schema (one key per row)`);
      continue;
    }
    const description = key.description ?? '';
    if (!description) problems.push(`${name}: the schema has no description for it`);
    else if (!renderedText(meaning).startsWith(renderedText(description))) problems.push(`${name}: the meaning does not start with the schema's description "${description}"`);
    const code = /^`([^`]*)`$/.exec(defaultCell)?.[1];
    if (defaultCell === '–') {
      if (key.default !== undefined) problems.push(`${name}: the page says no default, the schema's is ${JSON.stringify(key.default)}`);
    } else if (code !== undefined) {
      if (key.default === undefined) {
        if (!description.includes(`(default: \`${code}\``)) problems.push(`${name}: the page's default \`${code}\` is neither the schema's (none) nor the one its description names`);
      } else if (JSON.stringify(yaml.load(code)) !== JSON.stringify(key.default)) {
        problems.push(`${name}: the page's default \`${code}\` is not the schema's ${JSON.stringify(key.default)}`);
      }
    } else if (!DEFAULTS_IN_WORDS.has(name) || !description.includes(defaultCell)) {
      problems.push(`${name}: the default "${defaultCell}" is in words, which only a long default may be, and then in its description's words`);
    }
  }
  return problems;
}

describe('the config: schema, committed iso.config.yaml, docs/config.md', () => {
  const keys = schemaKeys();

  it('every key of the schema has a description', () => {
    expect([...keys].filter(([, k]) => !k.description).map(([name]) => name)).toEqual([]);
    expect(keys.size).toBeGreaterThan(40);
  });

  it('the committed iso.config.yaml is the one written from the schema (run: node dist/scripts/write-config-schema.js)', () => {
    const committed = readFileSync(join(ROOT, 'iso.config.yaml'), 'utf8');
    expect(committed).toBe(exampleConfigYaml());
    // It is the defaults, all of them: loaded, it is what an empty config means.
    expect(yaml.load(committed)).toEqual(configSchema.parse({}));
    // Each key's description is its comment.
    for (const [name, key] of keys) {
      const shown = committed.replace(/\n\s*# /g, ' ');
      if (key.not === undefined) expect(shown, name).toContain(key.description!.split(' ').slice(0, 6).join(' '));
      else expect(shown, `${name} is retired`).not.toContain(`${name.split('.').at(-1)}:`);
    }
  });

  it("docs/config.md gives each key the schema's default and starts its meaning with the schema's description", () => {
    const page = readFileSync(join(ROOT, 'docs/config.md'), 'utf8');
    expect(tableProblems(page, keys)).toEqual([]);
  });

  it('the controls: a wrong default, a meaning of its own, a default in words and a missing default are caught', () => {
    const page = readFileSync(join(ROOT, 'docs/config.md'), 'utf8');
    const changed = (from: string, to: string) => {
      expect(page).toContain(from);
      return tableProblems(page.replace(from, to), keys);
    };
    expect(changed('| `boot.timeout` | `5` |', '| `boot.timeout` | `10` |')).toEqual(['boot.timeout: the page\'s default `10` is not the schema\'s 5']);
    const timeout = keys.get('boot.timeout')!.description!;
    expect(changed(timeout, 'Seconds before the automated install starts (1 to 300).')).toEqual([`boot.timeout: the meaning does not start with the schema's description "${timeout}"`]);
    expect(changed('| `name` | `vultr-sid` |', '| `name` | a short prefix |')).toHaveLength(1);
    expect(changed('| `vm.region` | – |', '| `vm.region` | `ewr` |')).toHaveLength(1);
    expect(changed('| `publish.keep` | `2` |', '| `publish.keep` | – |')).toEqual(['publish.keep: the page says no default, the schema\'s is 2']);
  });
});
