import { readFile } from 'node:fs/promises';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that take minutes, in the order they should start (a fresh-clone CI run, 2026-12-06:
 * the lab's main chain 1,617 s, the second lab VM 423 s, the attached ISO 301 s and the
 * partial install 358 s; every other file under 3 minutes). Vitest orders files by their last
 * durations when it has them, but a clean clone (CI) has none, and then it runs larger files
 * first: the lab test, which alone takes most of the run, would start behind ten others and
 * end the run with the second worker idle. The attached ISO's boots need no sid disk: they use
 * the second worker while the first builds it (sid-disk.ts's lock, minutes on a clean clone),
 * and the second lab VM starts after them, on the disk built by then; the partial install,
 * which builds a disk of its own, last.
 */
const LONGEST = [
  'test/system/installed-system.slow.test.ts',
  'test/build/attached-iso.slow.test.ts',
  'test/system/ipv6-only-instance.slow.test.ts',
  'test/system/partial-install.slow.test.ts',
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification): number => {
      const i = LONGEST.findIndex((path) => file.moduleId.endsWith(`/${path}`));
      return i < 0 ? LONGEST.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

// Slow tests (QEMU boots, network namespaces) live in *.slow.test.ts: `npm run test:fast`
// skips them, `npm test` (and CI) runs everything.
export default defineConfig({
  plugins: [
    // @actions/workflow-parser's source maps name sources the package does not ship; loaded
    // without them, Vite has nothing to warn about (test/helpers/workflow-sim.ts uses it).
    {
      name: 'workflow-parser-without-source-maps',
      async load(id) {
        if (!/\/node_modules\/@actions\/workflow-parser\/.*\.js$/.test(id)) return null;
        return { code: (await readFile(id, 'utf8')).replace(/^\/\/# sourceMappingURL=.*$/m, ''), map: null };
      },
    },
  ],
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 300_000,
    fileParallelism: true,
    sequence: { sequencer: LongestFirst },
    maxWorkers: 2,
    // @actions/workflow-parser imports a JSON file without an import attribute, which plain
    // Node refuses; run through Vite's transform it loads.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
});
