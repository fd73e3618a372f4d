import { readFile } from 'node:fs/promises';
import { defineConfig } from 'vitest/config';

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
    maxWorkers: 2,
    // @actions/workflow-parser imports a JSON file without an import attribute, which plain
    // Node refuses; run through Vite's transform it loads.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
});
