import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Projects run one after another at the root (`npx vitest run`), each with its own workers.
    sequence: { groupOrder: 0 },
    name: 'core',
    maxWorkers: 2,
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['test/setup.ts'],
  },
});
