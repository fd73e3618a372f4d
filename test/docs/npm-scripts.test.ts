// What the README promises of the npm scripts: each one sets itself up (scripts/ensure-setup.sh
// first: node modules, compilation, system packages or the apt-get line to run), and
// `npm run test:fast` leaves out exactly the files whose fixtures the global set-up then skips,
// and as a user other than root skips what chroots into d-i's initrd (a describe of
// late.test.ts that chrooted without the skip failed 14 tests that way on a fresh clone).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SLOW_TESTS } from '../global-setup.js';
import { ROOT, testPackages } from '../helpers/project.js';

const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('the npm scripts', () => {
  it('every one starts with the set-up, so it works on a fresh clone', () => {
    expect(Object.keys(scripts).length).toBeGreaterThan(8);
    expect(Object.entries(scripts).filter(([, command]) => !command.startsWith('sh scripts/ensure-setup.sh ')).map(([name]) => name)).toEqual([]);
  });

  it('the README names each one a reader runs (all but npm\'s own prepack, lint and build)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const named = (name: string) => (name === 'test' ? readme.includes('`npm test`') : readme.includes(`npm run ${name}`));
    expect(Object.keys(scripts).filter((name) => !['prepack', 'lint', 'build'].includes(name) && !named(name))).toEqual([]);
  });

  it("the README's count of the Debian packages npm test needs is the set-up script's", () => {
    const packages = testPackages();
    expect(packages.length).toBeGreaterThan(30);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(/and (\d+) Debian packages: QEMU/.exec(readme)?.[1]).toBe(String(packages.length));
  });

  it('test:fast leaves out the slow tests by the pattern the global set-up reads, and so builds none of their fixtures', () => {
    expect(scripts['test:fast']).toContain(`vitest run --exclude '${SLOW_TESTS}'`);
  });

  it("every describe of a file that chroots into d-i's initrd (inInstaller) is skipped without root, as the README says", () => {
    const files = (readdirSync(join(ROOT, 'test'), { recursive: true }) as string[]).filter((f) => f.endsWith('.test.ts')).map((f) => join('test', f));
    const chrooting = files.map((f) => ({ f, source: readFileSync(join(ROOT, f), 'utf8') })).filter(({ source }) => /\binInstaller\(/.test(source));
    expect(chrooting.length).toBeGreaterThan(0);
    expect(chrooting.flatMap(({ f, source }) => unskippedDescribes(source).map((line) => `${f}: ${line}`))).toEqual([]);
  });

  it('the control: a describe without the skip is found, one with it is not', () => {
    expect(unskippedDescribes("describe.skipIf(NO_CHROOT)('a', () => {});\ndescribe('b', () => {});\n")).toEqual(["describe('b', () => {});"]);
  });
});

/** Top-level describes (at the start of a line) that are not describe.skipIf(NO_CHROOT). */
function unskippedDescribes(source: string): string[] {
  return source.split('\n').filter((line) => /^describe\b/.test(line) && !line.startsWith('describe.skipIf(NO_CHROOT)'));
}
