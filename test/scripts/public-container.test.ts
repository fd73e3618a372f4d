// The acceptance run's post-login check (scripts/acceptance/public-container.ts), its logic on
// its own: the commands it sends, how it reads Docker's and curl's answers, and what it calls a
// failure, against a VM that answers from a script. That it holds on a real installed system is
// the lab test's (test/system/installed-system.slow.test.ts), which runs the same function.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  acceptanceNetwork,
  addressFrom,
  addressProblem,
  checkPublicContainer,
  containerUrl,
  curlAnswer,
  curlArgs,
  dockerRunCommand,
  type CommandResult,
  type HttpAnswer,
  type VmAccess,
} from '../../scripts/acceptance/public-container.js';
import { labAccess } from '../../scripts/acceptance/lab-access.js';

const PREFIX = '2001:db8:5:16::/80';
const IN = '2001:db8:5:16::2';
const ok = (stdout = ''): CommandResult => ({ exitCode: 0, stdout, stderr: '' });

/** A VM whose docker answers as told; it records every command. */
function vm(options: { address: string; runFails?: boolean; outside?: (url: string, token: string) => HttpAnswer }): VmAccess & { commands: string[] } {
  const commands: string[] = [];
  let token = '';
  return {
    commands,
    async ssh(command) {
      commands.push(command);
      if (command.includes('docker run')) {
        token = /echo ([0-9a-f]+) >/.exec(command)?.[1] ?? '';
        return options.runFails ? { exitCode: 125, stdout: '', stderr: 'docker: Error response from daemon: network public not found.' } : ok('c0ffee\n');
      }
      if (command.includes('docker inspect')) return ok(`${options.address} \n`);
      if (command.startsWith('python3')) return ok(`200\n${token}\n`);
      return { exitCode: 127, stdout: '', stderr: 'unexpected' };
    },
    ...(options.outside ? { fromOutside: async (url: string) => options.outside!(url, token) } : {}),
  };
}

describe('the acceptance run\'s container check', () => {
  it('docker run: on the given network, port 80 published, busybox httpd serving the token; without a network, none is named', async () => {
    const on = dockerRunCommand({ image: 'busybox', network: 'public', containerPrefix: PREFIX }, 'abc123');
    expect(on).toContain("sudo docker run -d --name 'acceptance' --network 'public' -p 8080:80 'busybox' sh -c ");
    expect(on).toContain('echo abc123 > /acceptance.txt && exec httpd -f -p 80 -h /');
    const off = dockerRunCommand({ image: 'lab/busybox', network: undefined, containerPrefix: PREFIX, name: 'control', hostPort: 8082 }, 'abc123');
    expect(off).not.toContain('--network');
    expect(off).toContain("--name 'control' -p 8082:80 'lab/busybox'");
    // The command is one a shell parses as written.
    expect((await execa('sh', ['-n', '-c', on], { reject: false })).exitCode).toBe(0);
  });

  it("starts it on the config's network when only published ports are exposed, and on Docker's default bridge under all-ports (where that bridge has the /80)", () => {
    expect(acceptanceNetwork({ exposure: 'published', network: 'public' })).toBe('public');
    expect(acceptanceNetwork({ exposure: 'published', network: 'edge' })).toBe('edge');
    expect(acceptanceNetwork({ exposure: 'all-ports', network: 'public' })).toBeUndefined();
  });

  it('reads the address Docker prints and says why one is not in the /80', () => {
    expect(addressFrom(` ${IN} \n`)).toBe(IN);
    expect(addressFrom('  \n')).toBe('');
    expect(addressProblem(IN, PREFIX, 'public')).toBeUndefined();
    expect(addressProblem('2001:db8:5:17::2', PREFIX, 'public')).toBe(`the container on the network public has the IPv6 address 2001:db8:5:17::2, which is not in ${PREFIX}`);
    expect(addressProblem('', PREFIX, undefined)).toMatch(/^the container on Docker's default bridge has no IPv6 address, so it is not reachable in 2001:db8:5:16::\/80; start containers with --network/);
    expect(addressProblem(IN, '', 'public')).toMatch(/^vm create reported no container \/80/);
    expect(containerUrl(IN)).toBe(`http://[${IN}]:80/acceptance.txt`);
  });

  it('reads curl\'s answer: the status on its own line, nothing answering as status 0 with curl\'s reason', () => {
    expect(curlArgs('http://[::1]/x')).toEqual(['-g', '-sS', '--max-time', '8', '-w', '\n%{http_code}', 'http://[::1]/x']);
    expect(curlAnswer({ exitCode: 0, stdout: 'tok\n\n200', stderr: '' })).toEqual({ status: 200, body: 'tok\n' });
    expect(curlAnswer({ exitCode: 0, stdout: '\n403', stderr: '' })).toEqual({ status: 403, body: '' });
    expect(curlAnswer({ exitCode: 28, stdout: '\n000', stderr: 'curl: (28) Connection timed out after 8001 milliseconds' })).toEqual({ status: 0, body: 'curl: (28) Connection timed out after 8001 milliseconds' });
  });

  it('passes when the container is in the /80 and its port answers from outside with the run\'s token', async () => {
    const urls: string[] = [];
    const v = vm({ address: IN, outside: (url, token) => (urls.push(url), { status: 200, body: `${token}\n` }) });
    const report = await checkPublicContainer(v, { image: 'busybox', network: 'public', containerPrefix: PREFIX, retryMs: 1 });
    expect(report).toMatchObject({ address: IN, failures: [] });
    expect(urls).toEqual([`http://[${IN}]:80/acceptance.txt`]);
    expect(report.seen.at(-1)).toMatch(/^its published port answered from outside with the run's token/);
  });

  it('fails when the answer is not this container\'s (another token), or nothing answers in time', async () => {
    const other = await checkPublicContainer(vm({ address: IN, outside: () => ({ status: 200, body: 'someone else' }) }), { image: 'busybox', network: 'public', containerPrefix: PREFIX, reachTimeoutMs: 20, retryMs: 5 });
    expect(other.failures).toEqual([expect.stringMatching(/^the container's published port http:\/\/\[2001:db8:5:16::2\]:80\/acceptance.txt did not answer from outside within \d+ s \(HTTP 200 someone else\)$/)]);
    const none = await checkPublicContainer(vm({ address: IN, outside: () => ({ status: 0, body: 'curl: (7) Failed to connect' }) }), { image: 'busybox', network: 'public', containerPrefix: PREFIX, reachTimeoutMs: 20, retryMs: 5 });
    expect(none.failures[0]).toMatch(/\(nothing answered: curl: \(7\) Failed to connect\)$/);
  });

  it('the control: started without the network, the container has no IPv6 address and the check fails before reaching for it', async () => {
    let asked = 0;
    const v = vm({ address: '', outside: () => (asked++, { status: 0, body: '' }) });
    const report = await checkPublicContainer(v, { image: 'lab/busybox', network: undefined, containerPrefix: PREFIX });
    expect(report.failures).toEqual([expect.stringMatching(/^the container on Docker's default bridge has no IPv6 address/)]);
    expect(v.commands[0]).not.toContain('--network');
    expect(asked).toBe(0);
  });

  it('a docker run that fails is one failure naming it; without an outside, the VM fetches the address itself and says so', async () => {
    const failed = await checkPublicContainer(vm({ address: IN, runFails: true }), { image: 'busybox', network: 'public', containerPrefix: PREFIX });
    expect(failed.failures).toEqual(['docker run busybox on public failed (exit 125): docker: Error response from daemon: network public not found.']);
    const inside = vm({ address: IN });
    const report = await checkPublicContainer(inside, { image: 'busybox', network: 'public', containerPrefix: PREFIX });
    expect(report.failures).toEqual([]);
    expect(inside.commands.at(-1)).toMatch(/^python3 -c .* 'http:\/\/\[2001:db8:5:16::2\]:80\/acceptance.txt'$/);
    expect(report.seen.at(-1)).toContain('from the VM itself (no outside with IPv6 here');
  });

  it('the lab\'s access: SSH as the admin with the key, and curl in the router namespace as the outside', async () => {
    const calls: string[][] = [];
    const target = {
      key: '/k', admin: 'debian',
      vm: { ssh: async (key: string, user: string, command: string) => (calls.push(['ssh', key, user, command]), { exitCode: 0, stdout: 'ok', stderr: '' }) },
      lab: { router: async (cmd: string[]) => (calls.push(cmd), { exitCode: 0, stdout: 'tok\n\n200', stderr: '' }) },
    } as unknown as Parameters<typeof labAccess>[0];
    const access = labAccess(target);
    expect(await access.ssh('true')).toEqual({ exitCode: 0, stdout: 'ok', stderr: '' });
    expect(await access.fromOutside!('http://[2001:db8::2]:80/acceptance.txt')).toEqual({ status: 200, body: 'tok\n' });
    expect(calls).toEqual([['ssh', '/k', 'debian', 'true'], ['curl', ...curlArgs('http://[2001:db8::2]:80/acceptance.txt')]]);
  });
});
