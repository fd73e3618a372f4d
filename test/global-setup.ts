// Tests run the compiled CLI: compile first when a source changed (a no-op otherwise).
import { execa } from 'execa';
import { PROJECT_ROOT } from '../src/paths.js';

export default async function setup(): Promise<void> {
  await execa('sh', ['scripts/ensure-setup.sh', 'compile'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
}
