// The exit codes the README and docs/architecture.md state are the error classes' own: bad
// input 2, a missing tool (xorriso, the README's example) and every other failure 1, a
// cancelled run 130. A page that said "bad environment: 2" while a missing xorriso exits 1
// was one of the drifts a newcomer found.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CancelledError, exitCodeOf, OperationError, ToolMissingError, UserInputError } from '../../src/pipeline/errors.js';
import { ROOT } from '../helpers/project.js';

/** "Exit codes: 0 ok, 2 bad input (…), 1 any other failure (…), 130 cancelled." → code → what it says. */
export function statedExitCodes(text: string): Map<number, string> {
  const start = text.search(/Exit codes\*{0,2}:/);
  if (start < 0) return new Map();
  const sentence = text.slice(start, text.indexOf('.', text.indexOf('130', start))).replace(/\s+/g, ' ');
  const stated = new Map<number, string>();
  // Each code with its words up to the next code at a list boundary (", 2 …"), brackets kept whole.
  for (const m of sentence.matchAll(/(?:: |, )(\d+) ((?:[^,(]|\([^)]*\))+)/g)) stated.set(Number(m[1]), m[2]!.trim());
  return stated;
}

const PAGES = ['README.md', 'docs/architecture.md'];

describe('exit codes as the pages state them', () => {
  it.each(PAGES)('%s: 2 is bad input, a missing tool such as xorriso is 1, 130 is cancelled, as the error classes have them', (page) => {
    const stated = statedExitCodes(readFileSync(join(ROOT, page), 'utf8'));
    expect([...stated.keys()]).toEqual([0, 2, 1, 130]);
    expect(stated.get(2)).toMatch(/^bad input/);
    expect(exitCodeOf(new UserInputError('x'))).toBe(2);
    expect(stated.get(1)).toMatch(/a missing tool such as xorriso/);
    expect(stated.get(2)).not.toMatch(/tool|xorriso/);
    expect(exitCodeOf(new ToolMissingError('xorriso', 'xorriso'))).toBe(1);
    expect(exitCodeOf(new OperationError('x'))).toBe(1);
    expect(stated.get(130)).toMatch(/^cancelled/);
    expect(exitCodeOf(new CancelledError())).toBe(130);
  });

  it('the control: the sentence the newcomer found, with bad environment under 2, is read as such', () => {
    const stated = statedExitCodes('Exit codes: 0 ok, 2 bad input (arguments, the config, the environment: a missing xorriso), 1 any other failure, 130 cancelled.');
    expect(stated.get(2)).toMatch(/xorriso/);
    expect(stated.get(1)).not.toMatch(/a missing tool such as xorriso/);
  });
});
