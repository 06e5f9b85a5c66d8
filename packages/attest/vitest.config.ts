import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { sequence: { groupOrder: 1 }, name: 'attest', include: ['test/**/*.test.ts'], testTimeout: 30_000 },
});
