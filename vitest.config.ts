import { defineConfig } from 'vitest/config';

// Slow tests (QEMU boots, network namespaces) live in *.slow.test.ts: `npm run test:fast`
// skips them, `npm test` (and CI) runs everything.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 300_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
