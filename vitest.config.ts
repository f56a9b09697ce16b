import { defineConfig } from 'vitest/config';

// Two cores on CI: unit files are CPU-bound, integration files mostly wait on the real
// processes they start, which need CPU of their own. Override with `--maxWorkers`.
export default defineConfig({
  test: {
    maxWorkers: 2,
    teardownTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // Property tests and the agent's real-process tests can take seconds on a loaded
          // 2-core machine; a timeout there is noise, not a finding.
          testTimeout: 30_000,
          include: ['packages/*/src/**/*.test.ts'],
          // *.int.test.ts talk to real servers: they belong to the integration project.
          exclude: ['packages/*/src/**/*.int.test.ts', '**/node_modules/**', '**/dist/**'],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'packages/*/src/**/*.int.test.ts'],
          environment: 'node',
          // Builds the migrated template database once; each test clones it.
          globalSetup: ['./test/support/database.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
