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
export const TOOL_VERSION: string = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
