import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { sequence: { groupOrder: 2 }, name: 'cli', include: ['test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 300_000 },
});
