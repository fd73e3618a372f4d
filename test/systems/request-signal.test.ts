// A request that is never answered ends at its timeout, even when the garbage collector runs
// meanwhile (as it does in a long run). Each case runs in a Node of its own with --expose-gc,
// collecting every 10 ms, against a loopback server that accepts the request and never answers.
import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/project.js';

const TIMEOUT_MS = 500;
/** How long a request may take to end before it counts as hung: 16× its timeout, for a loaded machine. */
const HUNG_MS = 8_000;

type Signal = 'requestSignal' | 'AbortSignal.any with AbortSignal.timeout' | 'no timeout';

async function fetchUnanswered(kind: Signal): Promise<string> {
  const script = `
    import { createServer } from 'node:http';
    import { requestSignal } from ${JSON.stringify(join(ROOT, 'dist/src/systems/http-retry.js'))};
    const server = createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    setInterval(() => globalThis.gc(), 10).unref();
    setTimeout(() => { console.log('hung'); process.exit(0); }, ${HUNG_MS});
    const parent = new AbortController();
    const kind = ${JSON.stringify(kind)};
    const signal = kind === 'requestSignal' ? requestSignal(parent.signal, ${TIMEOUT_MS}).signal
      : kind === 'no timeout' ? parent.signal
      : AbortSignal.any([parent.signal, AbortSignal.timeout(${TIMEOUT_MS})]);
    try {
      await fetch('http://127.0.0.1:' + server.address().port + '/', { signal });
      console.log('answered');
    } catch (error) {
      console.log(error.name);
    }
    process.exit(0);
  `;
  const r = await execa(process.execPath, ['--expose-gc', '--input-type=module', '-e', script]);
  return r.stdout.trim();
}

describe.concurrent('a request never answered, with the garbage collector running', () => {
  it('with requestSignal it ends at its timeout, with a TimeoutError', async () => {
    expect(await fetchUnanswered('requestSignal')).toBe('TimeoutError');
  });

  it('without a timeout it is reported hung (the control: the check can fail)', async () => {
    expect(await fetchUnanswered('no timeout')).toBe('hung');
  });

  // Why requestSignal exists: on Node 20 (the oldest Node this project supports) the timeout
  // signal inside AbortSignal.any is collected and never fires.
  it.runIf(process.versions.node.startsWith('20.'))('on Node 20, AbortSignal.any([parent, AbortSignal.timeout(ms)]) never ends it', async () => {
    expect(await fetchUnanswered('AbortSignal.any with AbortSignal.timeout')).toBe('hung');
  });
});
