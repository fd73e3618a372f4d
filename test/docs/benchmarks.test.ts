// docs/benchmarks.md says how `npm run bench` measures (how many rounds at which size) and what
// one run gave; the method is bench's own (scripts/bench-method.ts), and every figure the page
// derives from others (a ratio to the floor, a hashing rate) is the arithmetic of those others.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BENCH_METHOD } from '../../scripts/bench-method.js';
import { ROOT } from '../helpers/project.js';

const page = () => readFileSync(join(ROOT, 'docs/benchmarks.md'), 'utf8');

/** "1.56 s = 2.10×" cells of the figures table whose ratio is not seconds / the column's floor. */
export function wrongRatios(text: string): string[] {
  const rows = text.split('\n').filter((l) => l.startsWith('| '));
  const floorRow = rows.find((r) => r.startsWith('| floor'));
  if (!floorRow) return ['no floor row'];
  const cells = (row: string) => row.split('|').slice(1, -1).map((c) => c.trim());
  const floors = cells(floorRow).map((c) => Number(/^([\d.]+) s$/.exec(c)?.[1]));
  const problems: string[] = [];
  for (const row of rows) {
    cells(row).forEach((cell, column) => {
      const m = /^([\d.]+) s = ([\d.]+)×$/.exec(cell);
      if (!m) return;
      const ratio = Number(m[1]) / floors[column]!;
      // Both figures are rounded to two decimals.
      if (!(Math.abs(ratio - Number(m[2])) <= 0.011)) problems.push(`${cell}: ${m[1]} s / ${floors[column]} s is ${ratio.toFixed(2)}×`);
    });
  }
  return problems;
}

describe('docs/benchmarks.md', () => {
  it("states bench's own method: the sizes and how many rounds, runs and boots", () => {
    const text = page().replace(/\s+/g, ' ');
    const m = BENCH_METHOD;
    expect(text).toContain(`${m.smallMb} MB and ${m.largeMb} MB of filler`);
    expect(text).toContain(`${m.rounds} rounds at ${m.largeMb} MB (\`npm run bench -- --rounds N\`)`);
    expect(text).toContain(`${m.smallRounds} rounds at ${m.smallMb} MB`);
    expect(text).toContain(`extract-and-rebuild runs ${m.rebuilds} times, at ${m.largeMb} MB only`);
    expect(text).toContain(`${m.bootRounds} boots each (\`npm run bench -- --boot-rounds N\``);
  });

  it('every ratio to the floor is the seconds divided by that column\'s floor', () => {
    const text = page();
    expect(text.match(/[\d.]+ s = [\d.]+×/g)?.length).toBeGreaterThanOrEqual(4);
    expect(wrongRatios(text)).toEqual([]);
    // The control: a ratio that does not follow from its seconds.
    expect(wrongRatios(text.replace('3.59 s = 2.10×', '3.59 s = 1.50×'))).toEqual(['3.59 s = 1.50×: 3.59 s / 1.71 s is 2.10×']);
  });

  it("the hashing rate is the ISO's MiB over the seconds it took, in MiB/s", () => {
    const m = /([\d.]+) s of CPU for the (\d+) MiB ISO \(Node's sha512 runs at (\d+) MiB\/s/.exec(page().replace(/\s+/g, ' '));
    expect(m, 'the sentence giving the sha512 rate').not.toBeNull();
    const [seconds, mib, rate] = [Number(m![1]), Number(m![2]), Number(m![3])];
    expect(Math.abs(mib / seconds - rate) / rate).toBeLessThan(0.01);
  });
});
