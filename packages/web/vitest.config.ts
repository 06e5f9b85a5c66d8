import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'web',
    // Projects run one after another at the root (`npx vitest run`), each with its own workers.
    sequence: { groupOrder: 5 },
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
