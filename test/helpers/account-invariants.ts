// The contract of publish and vm create under any fault (DESIGN.md, "The account's state"),
// checked on the fake's account after a run and on what the run said last:
//   - every VM and ISO the run made is gone, or is the run's result, or is named (its id and
//     the command that removes it) in the last lines the user sees;
//   - nothing that was there before was deleted, detached or restarted, except our own
//     unattached ISOs, which making room and pruning may remove;
//   - a library that held a good (complete) ISO of ours still holds one;
//   - at most one VM (or the --count asked for) and one ISO were made;
//   - the exit code is the expected one, and a failure ends in one line that says what and
//     what to do ("…; …");
//   - the fake saw no request or answer that breaks Vultr's OpenAPI document.
import type { FakeVultr } from './fake-vultr.js';

export interface AccountSnapshot {
  isos: Map<string, { filename: string; status: string; attached: boolean }>;
  instances: Set<string>;
}

export function snapshot(fake: FakeVultr): AccountSnapshot {
  const attached = new Set([...fake.instances.values()].filter((i) => i.isoState === 'attached').map((i) => i.isoId));
  return {
    isos: new Map([...fake.isos.values()].map((i) => [i.id, { filename: i.filename, status: i.status, attached: attached.has(i.id) }])),
    instances: new Set(fake.instances.keys()),
  };
}

export interface RunOutcome {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

export interface Expectations {
  /** Our ISOs' names: `${prefix}-<12 hex>.iso`. */
  prefix: string;
  /** The exit codes this run may end with. */
  exitCodes: number[];
  /** How many lines at the end count as "the last lines the user sees". */
  lastLines?: number;
  /** How many VMs the run may make (vm create --count; default 1). */
  vms?: number;
}

const ours = (filename: string, prefix: string) => new RegExp(`^${prefix}-[0-9a-f]{12}\\.iso$`).test(filename);
const goodOfOurs = (isos: Iterable<{ filename: string; status: string }>, prefix: string) => [...isos].filter((i) => i.status === 'complete' && ours(i.filename, prefix)).length;

/** Every way the run broke the contract, as sentences (none: it kept it). */
export function accountViolations(fake: FakeVultr, before: AccountSnapshot, outcome: RunOutcome, expect: Expectations): string[] {
  const problems: string[] = [];
  const lines = outcome.stderr.trimEnd().split('\n');
  const tail = lines.slice(-(expect.lastLines ?? 4)).join('\n');
  type Result = { id?: string; isoId?: string };
  let result: Result | undefined;
  let resultIds = new Set<string | undefined>();
  if (outcome.exitCode === 0) {
    try {
      // One object, or one per VM (vm create --count).
      const parsed = JSON.parse(outcome.stdout) as Result | Result[];
      result = Array.isArray(parsed) ? {} : parsed;
      resultIds = new Set(Array.isArray(parsed) ? parsed.map((r) => r.id) : [parsed.id]);
    } catch {
      problems.push('exit 0 without a JSON result on stdout');
    }
  }

  const madeIsos = fake.events.filter((e) => e.kind === 'iso-made').map((e) => e.id);
  const madeVms = fake.events.filter((e) => e.kind === 'instance-made').map((e) => e.id);
  if (madeIsos.length > 1) problems.push(`${madeIsos.length} ISOs were made (${madeIsos.join(', ')}), not at most one`);
  const vms = expect.vms ?? 1;
  if (madeVms.length > vms) problems.push(`${madeVms.length} VMs were made (${madeVms.join(', ')}), not at most ${vms === 1 ? 'one' : vms}`);
  for (const [made, exists, command, isResult] of [
    [madeIsos, (id: string) => fake.isos.has(id), 'iso delete', (id: string) => id === result?.isoId],
    [madeVms, (id: string) => fake.instances.has(id), 'vm delete', (id: string) => resultIds.has(id)],
  ] as const) {
    for (const id of made) {
      if (!exists(id) || isResult(id)) continue;
      if (!(tail.includes(id) && tail.includes(`vultr-sid-iso ${command} ${id}`))) {
        problems.push(`${id}, made by the run, is still there and neither the result nor named with "vultr-sid-iso ${command} ${id}" in the last lines`);
      }
    }
  }

  for (const e of fake.events) {
    if (e.kind === 'iso-dropped') continue;
    const iso = before.isos.get(e.id);
    if (e.kind === 'iso-deleted' && iso && !(ours(iso.filename, expect.prefix) && !iso.attached)) problems.push(`${iso.filename}, there before and not ours to prune, was deleted`);
    if (e.kind !== 'iso-deleted' && e.kind !== 'iso-made' && before.instances.has(e.id)) problems.push(`instance ${e.id}, there before, was touched (${e.kind})`);
  }
  if (goodOfOurs(before.isos.values(), expect.prefix) > 0 && goodOfOurs(fake.isos.values(), expect.prefix) === 0) {
    problems.push('the library held a good ISO of ours and holds none now');
  }

  if (!expect.exitCodes.includes(outcome.exitCode ?? -1)) problems.push(`exit ${outcome.exitCode}, not ${expect.exitCodes.join(' or ')}`);
  if (outcome.exitCode !== 0 && !/^vultr-sid-iso: [^\n]+; [^\n]+$/.test(lines.at(-1) ?? '')) {
    problems.push(`the last line is not one sentence saying what and what to do: ${lines.at(-1)}`);
  }
  for (const v of fake.violations) problems.push(`OpenAPI: ${v}`);
  return problems;
}
