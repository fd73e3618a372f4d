import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConsoleReporter } from '../../src/pipeline/reporter.js';

function capture(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  let clock = 0;
  const reporter = new ConsoleReporter({ stream, terminal: { noColor: false, plain: false }, plainIntervalMs: 5000, now: () => clock });
  return { reporter, text: () => text, tick: (ms: number) => (clock += ms) };
}

describe('ConsoleReporter progress', () => {
  it('prints plain lines at most every few seconds, and the finished line once even if the output outgrows its estimate', () => {
    const { reporter, text, tick } = capture(false);
    reporter.stepStart('Write ISO');
    for (let done = 0; done <= 120; done += 1) {
      reporter.progress('writing', done << 20, 100 << 20);
      tick(100);
    }
    const lines = text().split('\n').filter((l) => l.includes('writing:'));
    expect(lines.length).toBeLessThanOrEqual(4);
    expect(lines.filter((l) => l.includes('(100%)'))).toHaveLength(1);
  });

  it('redraws a live bar at most every 100 ms and masks secrets in it', () => {
    const { reporter, text, tick } = capture(true);
    reporter.mask('s3cr3t');
    for (let i = 0; i < 50; i++) {
      reporter.progress('uploading to https://x/?sig=s3cr3t', i, 100);
      tick(10);
    }
    const draws = text().split('\r').filter((d) => d.includes('uploading'));
    expect(draws.length).toBeGreaterThan(0);
    expect(draws.length).toBeLessThanOrEqual(6);
    expect(text()).not.toContain('s3cr3t');
  });
});
