import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Projects run one after another at the root (`npx vitest run`), each with its own workers.
    sequence: { groupOrder: 2 },
    name: 'server',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files start their own anvil, databases and servers; two at a time fits 2 cores.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
