// What a new user gets wrong in the first hour, fed to the real CLI: each is exit 2 with one
// line that starts "vultr-sid-iso: ", names the input at fault and gives the fix (for a
// mistyped flag or command, commander's suggestion), nothing on stdout, and nothing written.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../helpers/project.js';

interface Case {
  what: string;
  args: string[];
  /** Files to create in the case's directory (its working directory), by relative path. */
  files?: Record<string, string>;
  env?: Record<string, string>;
  /** The whole error line, with DIR for the case's directory. */
  says: string | RegExp;
}

/** The one example error docs/config.md gives, so that the page shows what the CLI says. */
const CONFIG_PAGE_EXAMPLE = /`(vultr-sid-iso: iso\.config\.yaml: [^`]+)`/.exec(readFileSync(join(ROOT, 'docs/config.md'), 'utf8'))?.[1];

const CASES: Case[] = [
  {
    what: 'a mistyped flag',
    args: ['build', '--render-onyl', 'review'],
    says: 'vultr-sid-iso: build has no option --render-onyl (did you mean --render-only?); npx vultr-sid-iso build --help shows the usage',
  },
  {
    what: 'a mistyped command',
    args: ['biuld'],
    says: 'vultr-sid-iso: biuld is not a command of vultr-sid-iso (did you mean build?); npx vultr-sid-iso --help shows the usage',
  },
  {
    what: "a flag's value left out",
    args: ['build', '--render-only'],
    says: 'vultr-sid-iso: --render-only needs a value: --render-only <dir>; npx vultr-sid-iso build --help shows the usage',
  },
  {
    what: 'a directory given without its flag',
    args: ['build', 'review'],
    says: 'vultr-sid-iso: build takes no arguments, but got 1 (options start with --); npx vultr-sid-iso build --help shows the usage',
  },
  {
    what: 'a directory given as --config',
    args: ['build', '--config', 'configs', '--render-only', 'review'],
    files: { 'configs/mine.yaml': 'name: mine\n' },
    says: 'vultr-sid-iso: config file configs (in DIR) is a directory, not a file; pass --config with one of the YAML files in it: configs/mine.yaml',
  },
  {
    what: 'no iso.config.yaml where the command runs',
    args: ['build', '--render-only', 'review'],
    says: `vultr-sid-iso: config file iso.config.yaml (in DIR) does not exist; pass --config FILE, or start from the example: cp ${ROOT}/iso.config.yaml iso.config.yaml`,
  },
  {
    what: "a /64 where the containers' /80 goes (docs/config.md's example)",
    args: ['build', '--render-only', 'review'],
    files: { 'iso.config.yaml': 'docker:\n  subnet: "2001:db8::/64"\n' },
    says: CONFIG_PAGE_EXAMPLE ?? 'docs/config.md has no example error',
  },
  {
    what: 'a YAML syntax error',
    args: ['build', '--render-only', 'review'],
    files: { 'iso.config.yaml': 'boot:\n  timeout: [5\n' },
    says: /^vultr-sid-iso: iso\.config\.yaml: YAML syntax error at line 3, column 1: .+; fix the file and try again$/,
  },
  {
    what: 'no Vultr API key',
    args: ['iso', 'list', '--config', join(ROOT, 'iso.config.yaml')],
    says: 'vultr-sid-iso: VULTR_API_KEY is not set; create an API key in the Vultr portal (Account → API) and export it',
  },
  {
    what: 'a manifest that does not exist',
    args: ['publish', '--config', join(ROOT, 'iso.config.yaml'), '--manifest', 'iso/out/vultr-sid.json'],
    env: { VULTR_API_KEY: 'a-test-key-that-is-never-used' },
    says: 'vultr-sid-iso: manifest iso/out/vultr-sid.json does not exist; pass the <name>.json that npx vultr-sid-iso build wrote beside its ISO (in iso/out unless --out-dir said otherwise)',
  },
  {
    what: 'a directory given as --manifest',
    args: ['publish', '--config', join(ROOT, 'iso.config.yaml'), '--manifest', 'iso/out'],
    files: { 'iso/out/.keep': '' },
    env: { VULTR_API_KEY: 'a-test-key-that-is-never-used' },
    says: 'vultr-sid-iso: manifest iso/out is a directory, not a file; pass one of the <name>.json files in it (publish takes the newest in a directory given as --out-dir)',
  },
  {
    what: 'a number out of range',
    args: ['publish', '--keep', '0'],
    says: 'vultr-sid-iso: --keep must be a whole number from 1 to 50, got "0"; npx vultr-sid-iso publish --help shows the usage',
  },
];

describe("a new user's bad input: exit 2, one line naming the input and the fix, nothing written", () => {
  it('has 12 cases', () => {
    expect(CASES).toHaveLength(12);
    expect(CONFIG_PAGE_EXAMPLE, "docs/config.md's example error").toBeDefined();
  });

  it.each(CASES)('$what', async ({ args, files = {}, env = {}, says }) => {
    const dir = await tempDir();
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    // VULTR_API_KEY of the machine running the tests must not change what a case sees.
    const r = await runCli(args, { cwd: dir, env: { VULTR_API_KEY: '', ...env }, extendEnv: true });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    // The error is one line, the last; any other line on stderr is a step's progress line.
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.filter((l) => !/^[▶✖] /.test(l)), r.stderr).toHaveLength(1);
    const line = lines.at(-1)!;
    if (typeof says === 'string') expect(line).toBe(says.replaceAll('DIR', dir));
    else expect(line).toMatch(says);
    expect(existsSync(join(dir, 'review'))).toBe(false);
  });
});

describe('--render-only replaces only what a render wrote', () => {
  async function project(): Promise<string> {
    const dir = await tempDir();
    await writeFile(join(dir, 'iso.config.yaml'), readFileSync(join(ROOT, 'iso.config.yaml')));
    await writeFile(join(dir, 'notes.md'), 'mine\n');
    return dir;
  }
  const render = (dir: string, target: string) => runCli(['build', '--render-only', target], { cwd: dir, env: { VULTR_API_KEY: '' }, extendEnv: true });

  it('the working directory, or a file, is refused with exit 2, and left as it was', async () => {
    const dir = await project();
    for (const [target, why] of [
      ['.', 'holds files a render did not write (iso.config.yaml, notes.md)'],
      ['notes.md', 'is not a directory'],
    ] as const) {
      const r = await render(dir, target);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`vultr-sid-iso: --render-only ${target} ${why}; pass a new directory, or one an earlier --render-only wrote (which it replaces)`);
      expect(readFileSync(join(dir, 'notes.md'), 'utf8')).toBe('mine\n');
      expect(existsSync(join(dir, 'iso.config.yaml'))).toBe(true);
    }
  });

  it('the control: a new directory, an empty one and an earlier render are written', async () => {
    const dir = await project();
    await mkdir(join(dir, 'empty'));
    for (const target of ['review', 'review', 'empty']) {
      const r = await render(dir, target);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(existsSync(join(dir, target, 'preseed.cfg'))).toBe(true);
    }
  });
});

describe("a flag npm took for itself (npm run build-iso --render-only DIR, without npm's --)", () => {
  const npmRun = (args: string[]) => execa('npm', ['run', '--silent', ...args], { cwd: ROOT, reject: false, env: { npm_config_update_notifier: 'false' } });
  const took = (flags: string, command: string, script: string, example: string) =>
    `vultr-sid-iso: ${flags} went to npm, not to npx vultr-sid-iso ${command} (npm run keeps the flags before -- as its own settings, npm_config_*); pass them after --, as in npm run ${script} -- ${example}`;

  // Each would otherwise run without its flag: a full build with its download instead of a
  // render (npm warns of an unknown setting, or says nothing under -s), online instead of
  // --offline (a setting npm knows: never a word), a create that waits.
  it.each([
    ['build-iso --render-only iso/review', ['build-iso', '--render-only', 'iso/review'], took('--render-only', 'build', 'build-iso', '--render-only <dir>')],
    ['build-iso --render-only=iso/review', ['build-iso', '--render-only=iso/review'], took('--render-only', 'build', 'build-iso', '--render-only iso/review')],
    ['build-iso --offline', ['build-iso', '--offline'], took('--offline', 'build', 'build-iso', '--offline')],
    ['create-vm --region ewr --no-wait', ['create-vm', '--region', 'ewr', '--no-wait'], took('--region, --no-wait', 'vm create', 'create-vm', '--region <id> --no-wait')],
  ])('npm run %s: refused before anything runs, naming the flags and the form that works', async (_name, args, says) => {
    const r = await npmRun(args);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(says);
  });

  it('the control: after --, the same flag reaches the command, which renders', async () => {
    const out = join(await tempDir(), 'review');
    const r = await npmRun(['build-iso', '--', '--render-only', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('went to npm');
  });

  it('the control: run directly, the same mistake gets no word about npm', async () => {
    const r = await runCli(['build', 'iso/review'], { cwd: await tempDir(), env: { npm_lifecycle_event: '' }, extendEnv: true });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).not.toContain('npm run');
  });
});
