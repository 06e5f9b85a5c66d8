import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Projects run one group after another at the root (`npx vitest run`); the CLI's files start
    // stacks and child processes of their own: after the client's, two files at a time on 2 cores.
    sequence: { groupOrder: 4 },
    name: 'cli',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    maxWorkers: 2,
  },
});
