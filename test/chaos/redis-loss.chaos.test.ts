// Chaos: Redis is a cache of PostgreSQL. Mid-traffic its keys are flushed (FLUSHALL), and in a
// second scenario the server is killed and started again empty (no persistence), as a Redis
// without AOF/RDB restarts. The leader's next sweep puts every queued run back from PostgreSQL:
// every run executed once, nothing lost, every run terminal, no cron fire lost or doubled.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sleep } from '../support/index.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { runScenario } from './scenario.js';

let cluster: ChaosCluster;
beforeAll(async () => {
  cluster = await startChaosCluster({ agents: 2, slots: 4 });
});
afterAll(async () => cluster?.close());

it('Redis flushed (FLUSHALL): every run executed once, none lost', async () => {
  const result = await runScenario(cluster, {
    name: 'Redis FLUSHALL',
    fault: ({ redis }) => redis.flushAll(),
  });
  expect(result.verdict.violations).toEqual([]);
  expect(result.line).toMatchObject({ duplicates: 0, lost: 0 });
  expect(result.verdict.figures.retried).toBe(0);
});

it('Redis restarted without persistence: every run executed once, none lost', async () => {
  const result = await runScenario(cluster, {
    name: 'Redis restarted empty',
    async fault({ redis }) {
      await redis.kill();
      await sleep(2000);
      await redis.start();
    },
  });
  expect(result.verdict.violations).toEqual([]);
  expect(result.line).toMatchObject({ duplicates: 0, lost: 0 });
  expect(result.verdict.figures.retried).toBe(0);
});
