import { defineConfig } from 'vitest/config';

// Every package's suite, as one run (`npx vitest run`, or `--project <name>`).
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts'],
  },
});
