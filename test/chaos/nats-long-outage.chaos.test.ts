// Chaos: the bus (a private nats-server) is killed mid-traffic and started again after 90 s,
// twice the jobs' default disconnect rule (stop after 45 s). Cut-off agents stop what they still
// run once the rule says so, and the coordinator may re-dispatch those runs after the rule's
// margin: attempts may be stopped and run again, but never two executions of a run at once,
// never beyond the retry policy, nothing lost, every run terminal.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sleep } from '../support/index.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { runScenario } from './scenario.js';

let cluster: ChaosCluster;
beforeAll(async () => {
  cluster = await startChaosCluster({ agents: 2, slots: 4 });
});
afterAll(async () => cluster?.close());

it('NATS restarted after 90 s: re-runs by the disconnect rule only, never two at once, none lost', async () => {
  const result = await runScenario(cluster, {
    name: 'NATS down 90 s',
    async fault({ stopNats, startNats }) {
      await stopNats();
      await sleep(90_000);
      await startNats();
    },
    afterMs: 20_000,
  });
  expect(result.verdict.violations).toEqual([]);
  expect(result.line).toMatchObject({ duplicates: 0, lost: 0 });
  expect(result.verdict.figures.overlapping).toBe(0);
});
