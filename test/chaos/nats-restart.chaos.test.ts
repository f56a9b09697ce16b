// Chaos: the bus (a private nats-server) is killed mid-traffic and started again after 20 s,
// within the jobs' default disconnect rule (stop after 45 s): nothing is re-executed at all.
// Agents finish their attempts and report them once the bus is back; runs that could not be
// dispatched wait. Every run executed exactly once, nothing lost, every run terminal.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sleep } from '../support/index.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { runScenario } from './scenario.js';

let cluster: ChaosCluster;
beforeAll(async () => {
  cluster = await startChaosCluster({ agents: 2, slots: 4 });
});
afterAll(async () => cluster?.close());

it('NATS restarted after 20 s: no run re-executed, none lost', async () => {
  const result = await runScenario(cluster, {
    name: 'NATS down 20 s',
    async fault({ stopNats, startNats }) {
      await stopNats();
      await sleep(20_000);
      await startNats();
    },
    afterMs: 20_000,
  });
  expect(result.verdict.violations).toEqual([]);
  expect(result.line).toMatchObject({ duplicates: 0, lost: 0 });
  expect(result.verdict.figures.retried).toBe(0);
  expect(result.line.executions).toBe(result.line.runs);
});
