// The loopback guard (helpers/loopback-guard.ts) that every CLI run of the Vultr tests carries:
// in a real node process, connections to loopback go through and every other one is refused
// and logged, whichever way it is made (net.connect, an options object, a name that resolves
// elsewhere, fetch). Nothing here leaves the machine: what would is refused before its connect
// (so there is no run without the guard to compare with; the control that the checks catch a
// CLI run dialling beyond loopback is in vm.slow.test.ts).
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { guardedEnv, isLoopback, refusedDials } from '../helpers/loopback-only.js';
import { tempDir } from '../helpers/project.js';

/** Each line of the program prints what one way of connecting got: ok, or the error's code. */
const PROGRAM = String.raw`
import { createServer, connect, Socket } from 'node:net';
const server = createServer((s) => { s.on('error', () => {}); s.end('SSH-2.0-test\r\n'); });
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const attempt = (make) => new Promise((resolve) => {
  const socket = make();
  socket.once('connect', () => { socket.destroy(); resolve('ok'); });
  socket.once('error', (e) => resolve(e.code));
});
const lines = [];
lines.push(await attempt(() => connect(port, '127.0.0.1')));
lines.push(await attempt(() => connect({ port, host: 'localhost', family: 4 })));
lines.push(await attempt(() => new Socket().connect({ port, host: '127.0.0.1' })));
lines.push(await attempt(() => connect(22, '2001:db8:5:1::1')));
lines.push(await attempt(() => connect({ port: 22, host: '192.0.2.1' })));
lines.push(await attempt(() => connect({ port: 22, host: 'vm.example', lookup: (h, o, cb) => (o.all ? cb(null, [{ address: '192.0.2.7', family: 4 }]) : cb(null, '192.0.2.7', 4)) })));
lines.push(await fetch('http://[2001:db8::9]:8080/').then(() => 'ok', (e) => e.cause?.code ?? e.message));
server.close();
console.log(lines.join('\n'));
`;

describe('the loopback guard', { timeout: 60_000 }, () => {
  it('knows loopback: 127/8, ::1 and ::ffff:127/104, and nothing else', () => {
    for (const a of ['127.0.0.1', '127.0.3.9', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.5']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['2001:db8:5:1::1', 'fd00::1', '192.0.2.1', '10.0.0.1', '::', '0.0.0.0', '::ffff:192.0.2.1', 'localhost', '']) expect(isLoopback(a), a).toBe(false);
  });

  it('lets loopback through and refuses (and logs) every other address, however the connection is made', async () => {
    const dir = await tempDir();
    const log = join(dir, 'dials.log');
    const r = await execa(process.execPath, ['--input-type=module', '-e', PROGRAM], { env: guardedEnv(log), reject: false });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['ok', 'ok', 'ok', 'EACCES', 'EACCES', 'EACCES', 'EACCES']);
    expect(refusedDials(log)).toEqual([
      'refused a connection to 2001:db8:5:1::1: the tests dial loopback addresses only',
      'refused a connection to 192.0.2.1: the tests dial loopback addresses only',
      'refused a connection to vm.example (192.0.2.7): the tests dial loopback addresses only',
      'refused a connection to 2001:db8::9: the tests dial loopback addresses only',
    ]);
  });

});
