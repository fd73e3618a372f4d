// The CLI's name is written in the one form that works after the README's set-up, `npx
// vultr-sid-iso …` (docs/architecture.md, "The command"): a bare `vultr-sid-iso build` is a
// command nobody has on PATH in a clone. The pages' code (spans and shell lines) and the
// messages in src/ and scripts/ (through CLI_COMMAND) and the templates are held to it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_COMMAND } from '../../src/paths.js';
import { blocks, codeSpans, docPages } from '../helpers/markdown.js';
import { ROOT } from '../helpers/project.js';

const SUBCOMMAND = /(?<![\w/.-])(?<!npx )vultr-sid-iso (build|publish|vm|iso)\b/;

/** Code on a page that types the CLI without npx: "page:line: code". */
export function bareCommands(page: string, markdown: string): string[] {
  const found: string[] = [];
  for (const block of blocks(markdown)) {
    const codes = block.kind === 'code' ? (['sh', 'bash', 'shell', 'console'].includes(block.lang ?? '') ? block.text.split('\n') : []) : codeSpans(block.text).spans.map((s) => s.code);
    for (const code of codes) if (SUBCOMMAND.test(code)) found.push(`${page}:${block.line}: ${code.trim()}`);
  }
  return found;
}

/** "file:line: text" for each line of FILES that spells a command out, the lines `skip` picks aside. */
function spelledIn(files: string[], skip: (line: string) => boolean = () => false): string[] {
  return files.flatMap((file) =>
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .map((line, i) => ({ line, at: `${file}:${i + 1}` }))
      .filter(({ line }) => !skip(line) && SUBCOMMAND.test(line))
      .map(({ at, line }) => `${at}: ${line.trim()}`),
  );
}

/** Lines of src/ and scripts/ that spell a command out instead of using CLI_COMMAND (comments aside). */
function spelledInSource(): string[] {
  const files = ['src', 'scripts'].flatMap((top) => (readdirSync(join(ROOT, top), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => `${top}/${f}`));
  return spelledIn(files, (line) => /^\s*(\/\/|\*|\/\*)/.test(line));
}

/** Lines of templates/ (the rendered files a user reviews, and the installed system's) that spell a command without npx. */
function spelledInTemplates(): string[] {
  return spelledIn((readdirSync(join(ROOT, 'templates'), { recursive: true }) as string[]).map((f) => `templates/${f}`).filter((f) => statSync(join(ROOT, f)).isFile()));
}

describe('the CLI as a reader types it', () => {
  it('is npx vultr-sid-iso', () => {
    expect(CLI_COMMAND).toBe('npx vultr-sid-iso');
  });

  it('the README and docs/ write commands to type as npx vultr-sid-iso', () => {
    const found = docPages(ROOT).flatMap((page) => bareCommands(page, readFileSync(join(ROOT, page), 'utf8')));
    expect(found).toEqual([]);
  });

  it('the messages in src/ and scripts/ name commands through CLI_COMMAND', () => {
    expect(spelledInSource()).toEqual([]);
  });

  it('the templates (what --render-only writes for review, and the installed system) write it the same way', () => {
    expect(spelledInTemplates()).toEqual([]);
  });

  it('the control: a bare command in a span and in a shell block is caught, npx and the message prefix are not', () => {
    const page = ['Run `vultr-sid-iso vm list`, `npx vultr-sid-iso iso list`, see `vultr-sid-iso: cancelled`.', '', '```sh', 'vultr-sid-iso build --json', '```'].join('\n');
    expect(bareCommands('x.md', page)).toEqual(['x.md:1: vultr-sid-iso vm list', 'x.md:4: vultr-sid-iso build --json']);
  });
});
