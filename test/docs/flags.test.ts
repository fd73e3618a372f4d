// Every flag a command's --help prints is documented for that command in the README or docs/,
// and every flag the pages write for a command is in that command's --help. The commands: the
// CLI and each of its subcommands, every script in scripts/ with a command line, and the
// installed system's programs (vultr-sid-ipv6, vultr-sid-ndp-proxy). Flags added on one branch and documented on none fail here at merge.
//
// How a page says which command a flag belongs to (docs/testing.md, "Docs"): a flag is written
// in code (`--keep N`), and belongs to
//   1. the command it follows in the same code span or shell line: `vm create --iso ID`,
//      `npm run build-iso -- --render-only DIR`, `node dist/scripts/boot-check.js --logs DIR`;
//   2. else the last command named before it in the same paragraph, list item or table row
//      (a code span such as `vultr-sid-iso publish` or `publish`, or the words "every command",
//      meaning each subcommand that runs something);
//   3. else the command named by the nearest enclosing heading (## `npm run create-vm`).
// A flag with none of these, a flag outside code, or a flag after a program this test does not
// know is an error too, so that nothing escapes the check. Another program's flags (`docker run
// --network public`) are left alone.
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { blocks, codeSpans, docPages } from '../helpers/markdown.js';
import { CLI, ROOT } from '../helpers/project.js';

/** The installed system's programs with a command line (/usr/local/sbin on the VM). */
const VM_PROGRAMS = ['vultr-sid-ipv6', 'vultr-sid-ndp-proxy'];
/** Programs whose flags the pages may write without this test checking them. */
const FOREIGN = new Set(['docker', 'tsc', 'eslint', 'vitest', 'debconf-set-selections', 'gh', 'cosign']);
const SHELL = new Set(['sh', 'bash', 'shell', 'console']);

interface Program {
  /** As a reader types it: "vultr-sid-iso vm create", "install-check", "vultr-sid-ipv6". */
  name: string;
  flags: string[];
  subcommands: string[];
}

/** The long options and the subcommands a --help text lists (commander's and argparse's layout). */
export function parseHelp(text: string): { flags: string[]; subcommands: string[] } {
  const flags: string[] = [];
  const subcommands: string[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const heading = /^(\w[\w ]*):\s*$/.exec(line);
    if (heading) section = heading[1]!.toLowerCase();
    // argparse before Python 3.10 said "optional arguments".
    else if (section === 'options' || section === 'optional arguments') {
      const m = /^ {2}(?:-\w, )?(--[a-z0-9][a-z0-9-]*)/i.exec(line);
      if (m) flags.push(m[1]!);
    } else if (section === 'commands') {
      const m = /^ {2}([a-z][\w-]*)/.exec(line);
      if (m && m[1] !== 'help') subcommands.push(m[1]!);
    }
  }
  return { flags, subcommands };
}

async function help(file: string, args: string[], interpreter = process.execPath): Promise<string> {
  const r = await execa(interpreter, [file, ...args, '--help'], { reject: false, cwd: ROOT, env: { NO_COLOR: '1' } });
  expect(r.exitCode, `${basename(file)} ${args.join(' ')} --help: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** scripts/ and its folders: each script by its path there ("lab/boot-rate.ts"). */
const scriptFiles = () => (readdirSync(join(ROOT, 'scripts'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && f !== 'script-cli.ts');

/** The scripts in scripts/ with a command line: the ones built on script-cli.ts. */
function cliScripts(): string[] {
  return scriptFiles()
    .filter((f) => readFileSync(join(ROOT, 'scripts', f), 'utf8').includes('scriptCommand('))
    .map((f) => f.replace(/\.ts$/, ''));
}

async function loadPrograms(): Promise<Map<string, Program>> {
  const programs = new Map<string, Program>();
  const cli = async (path: string[]): Promise<void> => {
    const parsed = parseHelp(await help(CLI, path));
    const name = ['vultr-sid-iso', ...path].join(' ');
    programs.set(name, { name, ...parsed });
    await Promise.all(parsed.subcommands.map((c) => cli([...path, c])));
  };
  await Promise.all([
    cli([]),
    ...cliScripts().map(async (s) => programs.set(s, { name: s, ...parseHelp(await help(join(ROOT, 'dist/scripts', `${s}.js`), [])) })),
    ...VM_PROGRAMS.map(async (p) => programs.set(p, { name: p, ...parseHelp(await help(join(ROOT, 'templates/rootfs/usr/local/sbin', p), [], 'python3')) })),
  ]);
  return programs;
}

/** Who a flag belongs to: one program, or several ("every command"). */
interface Owner {
  label: string;
  programs: string[];
}

export interface Mention {
  page: string;
  line: number;
  flag: string;
  owner: Owner;
}

type Head = { owner: Owner; rest: string[] } | { foreign: string } | { bare: string[] } | { unknown: string } | undefined;

export class DocFlags {
  readonly mentions: Mention[] = [];
  readonly problems: string[] = [];
  private readonly npmScripts: Record<string, string>;

  constructor(private readonly programs: Map<string, Program>) {
    this.npmScripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  }

  private get leaves(): Owner {
    const names = [...this.programs.values()].filter((p) => p.name.startsWith('vultr-sid-iso ') && p.subcommands.length === 0).map((p) => p.name);
    return { label: 'every command', programs: names };
  }

  private one(name: string): Owner {
    return { label: name, programs: [name] };
  }

  /** The program a code span or shell line starts with, and the words after it. */
  head(words: string[]): Head {
    let i = 0;
    while (words[i] === 'sudo' || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] ?? '')) i++;
    const w = words[i];
    if (w === undefined) return undefined;
    if (w.startsWith('-')) return { bare: words.slice(i) };
    if (w === 'node') return words[i + 1] && !words[i + 1]!.startsWith('-') ? this.head(words.slice(i + 1)) : { foreign: 'node' };
    // `npx [--no] vultr-sid-iso …`: the CLI as a clone runs it (npx's own options come first).
    if (w === 'npx') {
      let j = i + 1;
      while (words[j]?.startsWith('-')) j++;
      return words[j] ? this.head(words.slice(j)) : { foreign: 'npx' };
    }
    // The npm scripts' launcher: `sh scripts/ensure-setup.sh run build …` sets up, then runs the CLI.
    if (w === 'sh' && words[i + 1] === 'scripts/ensure-setup.sh') {
      return words[i + 2] === 'run' && words[i + 3] ? this.head(['vultr-sid-iso', ...words.slice(i + 3)]) : { foreign: 'scripts/ensure-setup.sh' };
    }
    const cli = this.programs.get('vultr-sid-iso')!;
    if (w === 'vultr-sid-iso' || w === 'dist/src/bin.js' || cli.subcommands.includes(w)) {
      let name = 'vultr-sid-iso';
      let j = w === 'vultr-sid-iso' || w === 'dist/src/bin.js' ? i + 1 : i;
      while (words[j] && this.programs.get(name)!.subcommands.includes(words[j]!)) name += ` ${words[j++]}`;
      return { owner: this.one(name), rest: words.slice(j) };
    }
    if (w === 'npm' && (words[i + 1] === 'run' || words[i + 1] === 'run-script')) {
      let j = i + 2;
      while (words[j]?.startsWith('-')) j++;
      const script = words[j];
      const command = script === undefined ? undefined : this.npmScripts[script];
      if (command === undefined) return { unknown: `npm run ${script ?? ''}` };
      const target = this.head(command.split('&&').at(-1)!.trim().split(/\s+/));
      const rest = words.slice(j + 1);
      if (rest[0] === '--') rest.shift();
      return target && 'owner' in target ? { owner: target.owner, rest } : { foreign: `npm run ${script}` };
    }
    if (w === 'npm') return { foreign: 'npm' };
    const script = /^(?:\.\/)?(?:dist\/)?scripts\/([\w/-]+)\.[jt]s$/.exec(w)?.[1] ?? w;
    if (this.programs.has(script) && !script.startsWith('vultr-sid-iso')) return { owner: this.one(script), rest: words.slice(i + 1) };
    const installed = /^\/usr\/local\/sbin\/([\w-]+)$/.exec(w)?.[1];
    if (installed && VM_PROGRAMS.includes(installed)) return { owner: this.one(installed), rest: words.slice(i + 1) };
    if (FOREIGN.has(w)) return { foreign: w };
    return { unknown: w };
  }

  /** Records the flags of one page, attributed as the comment at the top of this file says. */
  read(page: string, markdown: string): void {
    const headings: { level: number; owner?: Owner }[] = [];
    const headingOwner = () => [...headings].reverse().find((h) => h.owner)?.owner;
    for (const block of blocks(markdown)) {
      if (block.kind === 'code') {
        if (!SHELL.has(block.lang ?? '')) continue;
        // One shell command per line, a line ending in a backslash continued on the next.
        const lines = block.text.split('\n');
        lines.forEach((line, n) => {
          if (n > 0 && lines[n - 1]!.endsWith('\\')) return;
          let command = line;
          for (let k = n; command.endsWith('\\') && k + 1 < lines.length; k++) command = `${command.slice(0, -1)} ${lines[k + 1]!.trim()}`;
          this.span(page, block.line + n, command.replace(/^\$ /, '').replace(/\s#.*$/, ''), { current: undefined, heading: headingOwner() });
        });
        continue;
      }
      const { spans, prose } = codeSpans(block.text);
      const lineOf = (index: number) => block.line + block.text.slice(0, index).split('\n').length - 1;
      for (const m of prose.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/gi)) this.problems.push(`${page}:${lineOf(m.index)}: ${m[0]} is written outside code; write flags in code, after their command`);
      const context: { current?: Owner; heading?: Owner } = { heading: block.kind === 'heading' ? undefined : headingOwner() };
      let last = 0;
      for (const s of spans) {
        if (/every command/i.test(prose.slice(last, s.index))) context.current = this.leaves;
        this.span(page, lineOf(s.index), s.code, context);
        last = s.end;
      }
      if (block.kind === 'heading') {
        while (headings.length && headings.at(-1)!.level >= block.level!) headings.pop();
        headings.push({ level: block.level!, owner: context.current });
      }
    }
  }

  private span(page: string, line: number, code: string, context: { current?: Owner; heading?: Owner }): void {
    const words = code.trim().split(/\s+/).filter(Boolean);
    const head = this.head(words);
    if (!head || 'foreign' in head) return;
    // `--hostname/--ssh-key`, `[--logs DIR]`, `--config=FILE`: each flag by its name.
    const flagsIn = (rest: string[]) => rest.flatMap((w) => w.split('/')).flatMap((w) => /^[[(]*(--[a-z0-9][a-z0-9-]*)/i.exec(w)?.[1] ?? []);
    if ('unknown' in head) {
      if (flagsIn(words).length) this.problems.push(`${page}:${line}: \`${code}\`: ${head.unknown} is not a command this test knows; name ours, or add the program to FOREIGN`);
      return;
    }
    if ('bare' in head) {
      const owner = context.current ?? context.heading;
      for (const flag of flagsIn(head.bare)) {
        if (owner) this.mentions.push({ page, line, flag, owner });
        else this.problems.push(`${page}:${line}: ${flag} names no command; write \`<command> ${flag}\`, or name the command before it in the same paragraph, list item or row, or in a heading above`);
      }
      return;
    }
    context.current = head.owner;
    for (const flag of flagsIn(head.rest)) this.mentions.push({ page, line, flag, owner: head.owner });
  }

  /** Flags the pages write that the command's --help does not list. */
  unknownFlags(): string[] {
    return this.mentions.flatMap(({ page, line, flag, owner }) =>
      owner.programs
        .filter((p) => !this.programs.get(p)!.flags.includes(flag))
        .map((p) => `${page}:${line}: ${flag} is written for ${owner.label === p ? p : `${owner.label} (${p})`}, whose --help has no such option`),
    );
  }

  /** Flags a --help lists that no page writes for that command (--help itself needs no page). */
  undocumentedFlags(): string[] {
    const documented = new Set(this.mentions.flatMap((m) => m.owner.programs.map((p) => `${p} ${m.flag}`)));
    return [...this.programs.values()].flatMap((p) => p.flags.filter((f) => f !== '--help' && !documented.has(`${p.name} ${f}`)).map((f) => `${p.name} ${f}: in its --help, on no page`));
  }
}

function readPages(programs: Map<string, Program>, extra?: { page: string; text: string }): DocFlags {
  const docs = new DocFlags(programs);
  for (const page of docPages(ROOT)) docs.read(page, readFileSync(join(ROOT, page), 'utf8'));
  if (extra) docs.read(extra.page, extra.text);
  return docs;
}

/** The programs with one flag removed from (or added to) one command's --help. */
function altered(programs: Map<string, Program>, name: string, change: (flags: string[]) => string[]): Map<string, Program> {
  const copy = new Map(programs);
  const p = programs.get(name)!;
  copy.set(name, { ...p, flags: change(p.flags) });
  return copy;
}

describe('flags in --help and in the README and docs/', () => {
  let programs: Map<string, Program>;
  beforeAll(async () => {
    programs = await loadPrograms();
  }, 120_000);

  it('reads every command\'s --help: the CLI\'s subcommands, the scripts, the boot program', () => {
    expect([...programs.keys()]).toEqual(
      expect.arrayContaining(['vultr-sid-iso', 'vultr-sid-iso build', 'vultr-sid-iso publish', 'vultr-sid-iso vm create', 'vultr-sid-iso vm detach', 'vultr-sid-iso iso list', 'install-check', 'acceptance-vultr', 'boot-check', 'bench', 'vultr-sid-ipv6', 'vultr-sid-ndp-proxy']),
    );
    expect(programs.get('vultr-sid-iso vm create')!.flags).toEqual(expect.arrayContaining(['--iso', '--no-wait', '--json']));
    expect(programs.get('vultr-sid-ipv6')!.flags).toEqual(expect.arrayContaining(['--root', '--docker-network']));
  });

  it('every script in scripts/ that reads its arguments answers --help (through script-cli.ts)', () => {
    const readers = scriptFiles()
      .filter((f) => /process\.argv|parseArgs\(/.test(readFileSync(join(ROOT, 'scripts', f), 'utf8')));
    expect(readers).toEqual([]);
  });

  it('every flag the pages write is in its command\'s --help, and every flag of a --help is on a page', () => {
    const docs = readPages(programs);
    expect(docs.problems).toEqual([]);
    expect(docs.unknownFlags()).toEqual([]);
    expect(docs.undocumentedFlags()).toEqual([]);
    expect(docs.mentions.length).toBeGreaterThan(80);
  });

  it('the controls: a made-up flag, a removed one, an undocumented one and an unattributed one are caught', () => {
    // Each against the real pages: what the change adds to their findings.
    const real = readPages(programs);
    const added = (found: string[], before: string[]) => found.filter((p) => !before.includes(p));

    const madeUp = readPages(programs, { page: 'docs/x.md', text: '## Flags\n\n`vultr-sid-iso vm create`: `--frobnicate`, `--no-wait`.\n' });
    expect(added(madeUp.unknownFlags(), real.unknownFlags())).toEqual(['docs/x.md:3: --frobnicate is written for vultr-sid-iso vm create, whose --help has no such option']);

    const removed = added(readPages(altered(programs, 'vultr-sid-iso vm create', (f) => f.filter((x) => x !== '--no-wait'))).unknownFlags(), real.unknownFlags());
    expect(removed.length).toBeGreaterThan(0);
    expect(removed.filter((p) => !p.includes(': --no-wait is written for vultr-sid-iso vm create,'))).toEqual([]);

    const undocumented = readPages(altered(programs, 'install-check', (f) => [...f, '--frobnicate'])).undocumentedFlags();
    expect(added(undocumented, real.undocumentedFlags())).toEqual(['install-check --frobnicate: in its --help, on no page']);

    // "every command" means each one: a flag only some have is caught for the others.
    const every = readPages(programs, { page: 'docs/x.md', text: 'Every command takes `--poll-interval`.\n' });
    expect(added(every.unknownFlags(), real.unknownFlags())).toEqual(
      expect.arrayContaining(['docs/x.md:1: --poll-interval is written for every command (vultr-sid-iso build), whose --help has no such option']),
    );

    const loose = new DocFlags(programs);
    loose.read('docs/x.md', '# A page\n\nPass `--offline`, or --json, or `frob --x`; `docker run --network host` is Docker\'s.\n');
    expect(loose.problems).toEqual([
      'docs/x.md:3: --json is written outside code; write flags in code, after their command',
      'docs/x.md:3: --offline names no command; write `<command> --offline`, or name the command before it in the same paragraph, list item or row, or in a heading above',
      'docs/x.md:3: `frob --x`: frob is not a command this test knows; name ours, or add the program to FOREIGN',
    ]);
    expect(loose.mentions).toEqual([]);
  });

  it('attributes by span, then paragraph, then heading', () => {
    const docs = new DocFlags(programs);
    docs.read('docs/x.md', [
      '## `npm run publish-iso`',
      '',
      'Takes `--keep N`; `vm create --iso ID` then `--plan`.',
      '',
      '```sh',
      'npm run -s build-iso -- --json   # --offline in a comment',
      'sudo VSI_QEMU_KVM=1 npm run install-check -- --logs DIR ISO',
      '```',
    ].join('\n'));
    expect(docs.problems).toEqual([]);
    expect(docs.mentions.map((m) => `${m.line} ${m.owner.label} ${m.flag}`)).toEqual([
      '3 vultr-sid-iso publish --keep',
      '3 vultr-sid-iso vm create --iso',
      '3 vultr-sid-iso vm create --plan',
      '6 vultr-sid-iso build --json',
      '7 install-check --logs',
    ]);
  });
});
