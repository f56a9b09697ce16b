// Chaos: PostgreSQL, the truth, is out of reach for 30 s mid-traffic (the test's database locked
// out: new connections refused, open ones terminated; the shared server serves everyone else).
// Mutating API calls fail fast with a 503 STORE_UNAVAILABLE problem; the traffic retries each
// refused trigger with its Idempotency-Key once the store is back, which makes exactly one run
// per key. Agents keep running what they have and report it afterwards; no agent is judged down
// for the coordinator's own deafness. Every run executed once, nothing lost, every run terminal,
// the schedule's missed fires caught up.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sleep } from '../support/index.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { runScenario } from './scenario.js';

let cluster: ChaosCluster;
beforeAll(async () => {
  cluster = await startChaosCluster({ agents: 2, slots: 4 });
});
afterAll(async () => cluster?.close());

it('PostgreSQL unavailable 30 s: 503 at once, idempotent retries make one run each, none lost', async () => {
  const result = await runScenario(cluster, {
    name: 'PostgreSQL down 30 s',
    async fault({ lockout }) {
      await lockout.lock();
      try {
        await sleep(30_000);
      } finally {
        await lockout.unlock();
      }
    },
    afterMs: 15_000,
  });
  expect(result.verdict.violations).toEqual([]);
  expect(result.line).toMatchObject({ duplicates: 0, lost: 0 });
  expect(result.verdict.figures.retried).toBe(0);
  expect(result.line.executions).toBe(result.line.runs);
  // Refused while the store was away: with 503 STORE_UNAVAILABLE only, never a hang or another error.
  expect(result.traffic.refusals['503'] ?? 0).toBeGreaterThan(0);
  expect(Object.keys(result.traffic.refusals)).toEqual(['503']);
  expect(result.traffic.codes).toEqual(['STORE_UNAVAILABLE']);
  expect(result.traffic.keyMismatches).toBe(0);
  console.log(
    `PostgreSQL down 30 s: ${result.traffic.refusals['503']} triggers refused, the slowest answer in ${result.traffic.slowestRefusalMs} ms`,
  );
});
