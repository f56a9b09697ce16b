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
          // The chaos suite's history checker is pure: its tests are unit tests too.
          include: ['packages/*/src/**/*.test.ts', 'test/chaos/*.test.ts'],
          // *.int.test.ts talk to real servers: they belong to the integration project.
          exclude: ['packages/*/src/**/*.int.test.ts', 'test/chaos/**/*.chaos.test.ts', '**/node_modules/**', '**/dist/**'],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'packages/*/src/**/*.int.test.ts'],
          // The fault tests and the chaos suite are projects of their own (below).
          exclude: ['test/chaos/**', 'test/faults/**', '**/node_modules/**', '**/dist/**'],
          environment: 'node',
          // Builds the migrated template database once; each test clones it.
          globalSetup: ['./test/support/database.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          // Tests that break one private server or process on purpose (a partition, an outage, a
          // kill, a frozen leader, a stepped clock) and count executions. They mostly wait out
          // the fault's timers, so they run apart from `npm test` to keep it within 15 minutes on
          // 2 cores: `npm run test:faults`, after `npm test` in CI.
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['./test/support/database.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          // Scenarios that break private servers under traffic (docs/chaos.md). `npm test` names
          // the other two projects; `npm run test:chaos` runs this one, after it in CI. They mostly
          // wait on the processes they start: two files at a time (maxWorkers above) keep the
          // project within ~8 minutes on 2 cores without starving those processes.
          name: 'chaos',
          include: ['test/chaos/**/*.chaos.test.ts'],
          environment: 'node',
          globalSetup: ['./test/support/database.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
