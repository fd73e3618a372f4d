// The acceptance run's half after the login (scripts/acceptance-vultr.ts), on any VM it can
// reach: a container started the way users are told to start one (README: `docker run
// --network public -p …`, the network being the config's docker.network), its IPv6 address
// read back and checked to be in the VM's /80, and its published port fetched from outside the
// VM over that address. The real run reaches its Vultr VM over SSH with a throwaway key; the
// lab test (test/system/installed-system.slow.test.ts) reaches its QEMU VM through the lab's
// router: both run exactly this code, so what the nightly does after its login has been run
// here. The network is the caller's to choose, so a control can start the container without
// it (Docker's default bridge, which has no IPv6 with `exposure: published`) and watch the
// check fail.
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { contains, parseIPv6, parsePrefix } from '../../src/net/ipv6.js';
import { shellWord } from '../../src/render/handlebars-env.js';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What an HTTP GET got: status 0 when nothing answered (then `body` says why). */
export interface HttpAnswer {
  status: number;
  body: string;
}

/** How the check reaches the VM and the world around it. */
export interface VmAccess {
  /** A shell command on the VM as its admin (who may sudo); never throws: exit 255 is SSH's own failure. */
  ssh(command: string): Promise<CommandResult>;
  /**
   * An HTTP GET from outside the VM (the lab's router; the machine the run is on). Absent
   * when the outside has no IPv6 (GitHub's hosted runners): the VM itself fetches the URL then,
   * which shows the container serves on its public address but not that the world reaches it.
   */
  fromOutside?(url: string): Promise<HttpAnswer>;
}

export interface PublicContainer {
  /** `busybox` (Docker Hub) on a real VM; the lab has only the imported `lab/busybox`. */
  image: string;
  /** The network to start it on: the config's docker.network; undefined for Docker's default bridge (the control). */
  network: string | undefined;
  /** The VM's container /80 (vm create's containerPrefix). */
  containerPrefix: string;
  /** The container's name (default `acceptance`); one of that name already there is replaced. */
  name?: string;
  /** The VM's port that publishes the container's port 80 (default 8080; another where 8080 is taken). */
  hostPort?: number;
  /** How long the published port may take to answer from outside (default 60 s: ndppd learns the address first). */
  reachTimeoutMs?: number;
  /** Pause between tries (default 2 s). */
  retryMs?: number;
}

/**
 * The network the acceptance run starts its container on, from the installed config's docker
 * section: the config's network when only published ports are exposed (Docker's default
 * bridge then has no IPv6); the default bridge under all-ports, where it has the /80.
 */
export function acceptanceNetwork(docker: { exposure: string; network: string }): string | undefined {
  return docker.exposure === 'published' ? docker.network : undefined;
}

export interface PublicContainerReport {
  /** The container's IPv6 address as Docker reports it ('' when it has none). */
  address: string;
  /** What failed, one sentence each; empty when everything held. */
  failures: string[];
  /** What was seen, one line per check, for the log. */
  seen: string[];
}

/** The container's port, published on the VM as a user would (`-p 8080:80`). */
export const CONTAINER_PORT = 80;
/** The file the container serves, holding the run's token. */
export const TOKEN_PATH = '/acceptance.txt';

/**
 * `docker run` for the container: busybox httpd serving a file that holds `token`, so an answer
 * is known to come from this container and no other. Only busybox's sh, echo and httpd are
 * used: the lab's imported image has little more.
 */
export function dockerRunCommand(c: PublicContainer, token: string): string {
  const name = c.name ?? 'acceptance';
  const network = c.network === undefined ? '' : `--network ${shellWord(c.network)} `;
  const script = `echo ${token} > ${TOKEN_PATH} && exec httpd -f -p ${CONTAINER_PORT} -h /`;
  return `sudo docker rm -f ${shellWord(name)} >/dev/null 2>&1; sudo docker run -d --name ${shellWord(name)} ${network}-p ${c.hostPort ?? 8080}:${CONTAINER_PORT} ${shellWord(c.image)} sh -c ${shellWord(script)}`;
}

/** `docker inspect` printing the container's global IPv6 address on each of its networks. */
export function inspectAddressCommand(name: string): string {
  return `sudo docker inspect -f '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}} {{end}}' ${shellWord(name)}`;
}

/** The first address `inspectAddressCommand` printed ('' for none). */
export function addressFrom(inspectOutput: string): string {
  return inspectOutput.trim().split(/\s+/).find(Boolean) ?? '';
}

/** Why `address` is not a container address in the /80, or undefined when it is. */
export function addressProblem(address: string, containerPrefix: string, network: string | undefined): string | undefined {
  const on = network === undefined ? "Docker's default bridge" : `the network ${network}`;
  const prefix = parsePrefix(containerPrefix);
  if (!prefix || prefix.length !== 80) return `vm create reported no container /80 ("${containerPrefix}"), so the container's address cannot be checked`;
  if (address === '') return `the container on ${on} has no IPv6 address, so it is not reachable in ${containerPrefix}; start containers with --network <docker.network> (exposure: published)`;
  const parsed = parseIPv6(address);
  if (parsed === undefined || !contains(prefix, parsed)) return `the container on ${on} has the IPv6 address ${address}, which is not in ${containerPrefix}`;
  return undefined;
}

/** The URL of the container's published port on its own public address. */
export function containerUrl(address: string): string {
  return `http://[${address}]:${CONTAINER_PORT}${TOKEN_PATH}`;
}

/** curl's arguments for a GET whose answer `curlAnswer` reads (the body, then the status on a line of its own). */
export function curlArgs(url: string, maxSeconds = 8): string[] {
  return ['-g', '-sS', '--max-time', String(maxSeconds), '-w', '\n%{http_code}', url];
}

/** What curl (run with curlArgs) got. */
export function curlAnswer(r: { exitCode?: number; stdout: string; stderr: string }): HttpAnswer {
  const cut = r.stdout.lastIndexOf('\n');
  const status = Number(r.stdout.slice(cut + 1));
  if (r.exitCode !== 0 || !Number.isInteger(status) || status === 0) return { status: 0, body: r.stderr.trim() || `curl exit ${r.exitCode}` };
  return { status, body: r.stdout.slice(0, Math.max(cut, 0)) };
}

/** The VM fetching the URL itself (python3 is on every installed system: cloud-init needs it). */
async function fromTheVm(vm: VmAccess, url: string): Promise<HttpAnswer> {
  const fetch = String.raw`import sys, urllib.request; r = urllib.request.urlopen(sys.argv[1], timeout=8); sys.stdout.write(str(r.status) + "\n" + r.read().decode())`;
  const r = await vm.ssh(`python3 -c ${shellWord(fetch)} ${shellWord(url)}`);
  if (r.exitCode !== 0) return { status: 0, body: r.stderr.trim().split('\n').at(-1) ?? `exit ${r.exitCode}` };
  const [status = '0', ...body] = r.stdout.split('\n');
  return { status: Number(status), body: body.join('\n') };
}

/** Tries the URL until it answers 200 with the token, or the time is up; the last answer. */
async function reach(get: (url: string) => Promise<HttpAnswer>, url: string, token: string, c: PublicContainer): Promise<{ ok: boolean; last: HttpAnswer; ms: number }> {
  const started = Date.now();
  const deadline = started + (c.reachTimeoutMs ?? 60_000);
  for (;;) {
    const last = await get(url);
    if (last.status === 200 && last.body.trim() === token) return { ok: true, last, ms: Date.now() - started };
    if (Date.now() >= deadline) return { ok: false, last, ms: Date.now() - started };
    await delay(c.retryMs ?? 2000);
  }
}

/**
 * Starts the container on `c.network`, checks its address is in the /80 and that its
 * published port answers from outside (or, without an outside, from the VM). Never throws for
 * what it finds: each failure is a sentence in the report. The container is left running.
 */
export async function checkPublicContainer(vm: VmAccess, c: PublicContainer, say: (line: string) => void = () => undefined): Promise<PublicContainerReport> {
  const name = c.name ?? 'acceptance';
  const token = randomBytes(8).toString('hex');
  const failures: string[] = [];
  const seen: string[] = [];
  const note = (line: string) => {
    seen.push(line);
    say(line);
  };
  const run = await vm.ssh(dockerRunCommand(c, token));
  if (run.exitCode !== 0) {
    failures.push(`docker run ${c.image}${c.network === undefined ? '' : ` on ${c.network}`} failed (exit ${run.exitCode}): ${run.stderr.trim().split('\n').at(-1) ?? ''}`);
    return { address: '', failures, seen };
  }
  note(`container ${name} started from ${c.image} on ${c.network ?? "Docker's default bridge"}, port ${CONTAINER_PORT} published`);
  const inspected = await vm.ssh(inspectAddressCommand(name));
  const address = inspected.exitCode === 0 ? addressFrom(inspected.stdout) : '';
  const problem = inspected.exitCode === 0 ? addressProblem(address, c.containerPrefix, c.network) : `docker inspect ${name} failed (exit ${inspected.exitCode}): ${inspected.stderr.trim()}`;
  if (problem) {
    failures.push(problem);
    return { address, failures, seen };
  }
  note(`its address ${address} is in ${c.containerPrefix}`);
  const url = containerUrl(address);
  const where = vm.fromOutside ? 'from outside' : 'from the VM itself (no outside with IPv6 here: this shows it serves on its public address, not that the world reaches it)';
  const got = await reach(vm.fromOutside ? (u) => vm.fromOutside!(u) : (u) => fromTheVm(vm, u), url, token, c);
  if (!got.ok) {
    const answer = got.last.status === 0 ? `nothing answered: ${got.last.body}` : `HTTP ${got.last.status} ${got.last.body.trim().slice(0, 80)}`;
    failures.push(`the container's published port ${url} did not answer ${where} within ${Math.round(got.ms / 1000)} s (${answer})`);
  } else {
    note(`its published port answered ${where} with the run's token (after ${(got.ms / 1000).toFixed(0)} s)`);
  }
  return { address, failures, seen };
}
