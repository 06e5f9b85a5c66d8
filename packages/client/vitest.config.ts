import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // After the server's files (group 3): its files start real stacks, two at a time on 2 cores.
    sequence: { groupOrder: 3 },
    name: 'client',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    maxWorkers: 2,
  },
});
