// Before any test file runs: compile the CLI when a source changed (the tests run the compiled
// CLI), and build the stand-in ISOs and disks once, so parallel test files never race to build one.
import { execa } from 'execa';
import { PROJECT_ROOT } from '../src/paths.js';
import { ALL_DISKS, ALL_FIXTURES, installedDisk, standinIso } from './helpers/fixtures.js';

export default async function setup(): Promise<void> {
  await execa('sh', ['scripts/ensure-setup.sh', 'compile'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  for (const [kind, mb] of ALL_FIXTURES) await standinIso(kind, mb);
  for (const [layout, mode] of ALL_DISKS) await installedDisk(layout, mode);
}
