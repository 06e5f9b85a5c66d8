import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'server',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files start their own anvil, databases and servers; two at a time fits 2 cores.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
