// A forged workflow command inside a message (here a config file name with a line break)
// must never reach GitHub Actions as a command: the annotation escapes it (%0A), and every
// plain line that would start with "::" is indented.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/project.js';

const FORGED = '::error::pwned';
const KNOWN = /^::(add-mask|group|endgroup|warning|error title=vultr-sid-iso [a-z ]+)::/;

describe('workflow-command injection through an error message', () => {
  it('is neutralised in Actions mode, and the control line shows it would otherwise be a command', async () => {
    const config = `missing\n${FORGED}\n::set-env name=X::1.yaml`;
    const r = await runCli(['build', '--config', config, '--render-only', '/nonexistent-dir'], { env: { GITHUB_ACTIONS: 'true' } });
    expect(r.exitCode).toBe(2);
    const commands = r.stderr.split('\n').filter((l) => l.startsWith('::'));
    expect(commands.length).toBeGreaterThan(0);
    for (const line of commands) expect(line, line).toMatch(KNOWN);
    expect(r.stderr).toContain('%0A::error::pwned%0A'); // inside the escaped annotation
    expect(r.stderr).toContain(`\n ${FORGED}\n`); // the plain error line, indented
    // Control: the message does carry the forged command at the start of a line.
    expect(`config file ${config} does not exist`.split('\n')).toContain(FORGED);
  });
});
