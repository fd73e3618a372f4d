// Before any test file runs: compile the CLI when a source changed (the tests run the compiled
// CLI), and build the stand-in ISOs and disks once, so parallel test files never wait on a
// build inside their own time limits. Those fixtures (one ISO with 400 MB of filler, disks
// made with losetup and mount, as root) are for the slow tests: a run that leaves the slow
// tests out (`npm run test:fast`) builds none, and a fast test that needs a small one builds
// it itself (test/helpers/fixtures.ts).
import { execa } from 'execa';
import type { TestProject } from 'vitest/node';
import { PROJECT_ROOT } from '../src/paths.js';
import { ALL_DISKS, ALL_FIXTURES, installedDisk, standinIso } from './helpers/fixtures.js';

/** The slow tests' files, as `npm run test:fast` leaves them out (package.json). */
export const SLOW_TESTS = '**/*.slow.test.ts';

export default async function setup(project: TestProject): Promise<void> {
  await execa('sh', ['scripts/ensure-setup.sh', 'compile'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  // vitest adds the command line's --exclude to the config's.
  if (project.config.exclude.includes(SLOW_TESTS)) return;
  for (const [kind, mb] of ALL_FIXTURES) await standinIso(kind, mb);
  for (const [layout, mode] of ALL_DISKS) await installedDisk(layout, mode);
}
