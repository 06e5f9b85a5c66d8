import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Projects run one after another at the root (`npx vitest run`), each with its own workers.
    sequence: { groupOrder: 1 }, name: 'venice-sim', include: ['test/**/*.test.ts'], testTimeout: 20_000 },
});
