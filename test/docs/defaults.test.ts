// Every default a page states is the code's: "`--out-dir DIR` (default `iso/out`)" is the
// option's default in the CLI, "`publish.keep` (default 2)" the schema's, and the rows of
// docs/building.md's flag table ("| `--cache-dir DIR` | `iso/cache` |") are build's. A flag
// whose default comes from the config names the key instead ("(default `base.url`)"), and then
// the option itself has none.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createProgram } from '../../src/cli.js';
import { configSchema } from '../../src/config/schema.js';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { blocks, docPages } from '../helpers/markdown.js';
import { ROOT } from '../helpers/project.js';

/** A stated default: the thing it is for (a flag or a config key), the value, and where. */
export interface Stated {
  where: string;
  subject: string;
  value: string;
}

/** "`X` (default `V`)", "`X` seconds (default 5)", "`X` (defaults `a`, `b`)": X and V. */
const INLINE = /`([^`]+)`(?:\s+[\w-]+){0,3}\s*\(defaults?\s+(?:`([^`]+)`|([\w./-]+))/g;

/** Defaults the pages state, outside code blocks, in running text and in build's flag table. */
export function statedDefaults(pages: { page: string; text: string }[]): Stated[] {
  const out: Stated[] = [];
  for (const { page, text } of pages) {
    let heading = '';
    for (const block of blocks(text)) {
      if (block.kind === 'code') continue;
      if (block.kind === 'heading') heading = block.text;
      const where = `${page}:${block.line}`;
      // docs/building.md: "| flag | default | |" under "## `build` flags".
      const row = /^\|\s*`(--[a-z-]+)[^`]*`\s*\|([^|]*)\|/.exec(block.text);
      if (block.kind === 'table-row' && heading === '`build` flags' && row) {
        out.push({ where, subject: `build ${row[1]}`, value: row[2]!.trim().replace(/^`(.*)`$/, '$1') });
        continue;
      }
      for (const m of block.text.matchAll(INLINE)) {
        const flag = /(?:^|\s)(--[a-z][a-z0-9-]*)/.exec(m[1]!)?.[1];
        out.push({ where, subject: flag ?? m[1]!, value: m[2] ?? m[3]! });
      }
    }
  }
  return out;
}

/** Defaults of the CLI's options by "command --flag" and by "--flag" (every command's). */
function optionDefaults(): { byCommand: Map<string, unknown>; byFlag: Map<string, unknown[]> } {
  const byCommand = new Map<string, unknown>();
  const byFlag = new Map<string, unknown[]>();
  const walk = (command: CommandUnknownOpts, path: string[]) => {
    for (const option of command.options) {
      if (!option.long) continue;
      byCommand.set([...path, option.long].join(' '), option.defaultValue);
      byFlag.set(option.long, [...(byFlag.get(option.long) ?? []), option.defaultValue]);
    }
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(createProgram({}) as unknown as CommandUnknownOpts, []);
  return { byCommand, byFlag };
}

/** The schema's default of every leaf key (undefined for one without), by dotted path. */
function configDefaults(): Map<string, unknown> {
  type Node = { default?: unknown; properties?: Record<string, Node> };
  const out = new Map<string, unknown>();
  const walk = (node: Node, path: string[]) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      if (child.properties) walk(child, [...path, name]);
      else out.set([...path, name].join('.'), child.default);
    }
  };
  walk(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Node, []);
  return out;
}

/** Each stated default that the code does not have, and the statements about nothing we know. */
export function wrongDefaults(stated: Stated[]): { wrong: string[]; unknown: Stated[] } {
  const options = optionDefaults();
  const config = configDefaults();
  const same = (text: string, value: unknown) => {
    if (value === undefined || value === false) return text === '';
    let parsed: unknown = text;
    try {
      parsed = yaml.load(text);
    } catch {
      // a path or a word: compared as text
    }
    return JSON.stringify(parsed) === JSON.stringify(value) || text === String(value);
  };
  const wrong: string[] = [];
  const unknown: Stated[] = [];
  for (const s of stated) {
    const fromConfig = config.has(s.value);
    let defaults: unknown[] | undefined;
    if (options.byCommand.has(s.subject)) defaults = [options.byCommand.get(s.subject)];
    else if (options.byFlag.has(s.subject)) defaults = options.byFlag.get(s.subject);
    if (defaults) {
      // Named after a config key: the option has no default of its own.
      const ok = fromConfig ? defaults.some((d) => d === undefined) : defaults.some((d) => same(s.value, d));
      if (!ok) wrong.push(`${s.where}: ${s.subject} defaults to ${s.value} on the page, to ${defaults.map((d) => (d === undefined ? 'none' : JSON.stringify(d))).join(' or ')} in the CLI`);
    } else if (config.has(s.subject)) {
      if (!same(s.value, config.get(s.subject))) wrong.push(`${s.where}: ${s.subject} defaults to ${s.value} on the page, to ${JSON.stringify(config.get(s.subject))} in the schema`);
    } else unknown.push(s);
  }
  return { wrong, unknown };
}

const pages = () => docPages(ROOT).map((page) => ({ page, text: readFileSync(join(ROOT, page), 'utf8') }));

describe('defaults the README and docs/ state', () => {
  it("are the CLI's option defaults and the schema's", () => {
    const stated = statedDefaults(pages());
    const { wrong, unknown } = wrongDefaults(stated);
    expect(wrong).toEqual([]);
    // Not vacuous: the flags and keys the README and docs/building.md give defaults for.
    // (What is left is another program's: the boot program's flags, a script's, the nightly's inputs.)
    const checked = stated.filter((s) => !unknown.includes(s)).map((s) => s.subject);
    expect(checked).toEqual(expect.arrayContaining(['--config', '--out-dir', '--cache-dir', 'build --out-dir', 'build --base-iso', 'publish.keep', 'publish.librarySize', 'boot.timeout']));
  });

  it('the controls: a changed default of a flag, of a key, and of a table row are caught', () => {
    const stated: Stated[] = [
      { where: 'x.md:1', subject: '--out-dir', value: 'out' },
      { where: 'x.md:2', subject: 'publish.keep', value: '3' },
      { where: 'x.md:3', subject: 'build --offline', value: 'true' },
      { where: 'x.md:4', subject: 'build --base-iso', value: 'base.url' },
      { where: 'x.md:5', subject: 'build --cache-dir', value: 'iso/cache' },
    ];
    expect(wrongDefaults(stated).wrong).toEqual([
      'x.md:1: --out-dir defaults to out on the page, to "iso/out" or "iso/out" in the CLI',
      'x.md:2: publish.keep defaults to 3 on the page, to 2 in the schema',
      'x.md:3: build --offline defaults to true on the page, to false in the CLI',
    ]);
    expect(statedDefaults([{ page: 'x.md', text: 'Pass `--keep N` (default `7`), and `boot.timeout` seconds (default 9).\n' }])).toEqual([
      { where: 'x.md:1', subject: '--keep', value: '7' },
      { where: 'x.md:1', subject: 'boot.timeout', value: '9' },
    ]);
  });
});
