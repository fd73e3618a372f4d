// The project root (where package.json and templates/ live), whether running from src/ under
// vitest or from dist/ after tsc.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the vultr-sid-iso project root');
    dir = parent;
  }
}

export const PROJECT_ROOT = findRoot();
export const TEMPLATES_DIR = join(PROJECT_ROOT, 'templates');
/** GRUB for the ISO's BIOS boot, built from pinned Debian packages by grub/build.sh. */
export const GRUB_BIOS_IMAGE_FILE = join(PROJECT_ROOT, 'grub/biosgrub.img');
/** The default entry's decision, in GRUB script: boot the installed system, or install. */
export const GRUB_DECIDE_FILE = join(PROJECT_ROOT, 'grub/decide.cfg');
/**
 * The CLI as a reader types it, in every message that names a command to run. In a clone,
 * `npx` finds the package's own bin (package.json `bin`) without the registry; after
 * `npm install -g` it finds the installed one. A bare `vultr-sid-iso` works only in the second
 * case, and `npm run …` only in the first (docs/architecture.md, "The command").
 */
export const CLI_COMMAND = 'npx vultr-sid-iso';
export const TOOL_VERSION: string = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
