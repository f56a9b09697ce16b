// Chaos: one agent is cut off from the bus (its TCP proxy refuses everything) for twice the
// default down time (2 × 7 s), then healed, mid-traffic. The coordinator declares it down and
// offers it nothing; with the jobs' default disconnect rule (stop after 45 s) its runs are not
// re-dispatched within so short a cut, and once it is back their results are accepted: every run
// executed exactly once, nothing lost, every run terminal.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sleep, waitFor } from '../support/index.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { runScenario } from './scenario.js';

const DOWN_AFTER_MS = 7000;

let cluster: ChaosCluster;
beforeAll(async () => {
  cluster = await startChaosCluster({ agents: 2, slots: 4 });
});
afterAll(async () => cluster?.close());

it('agent partition 2× the down time, healed: every run executed once, none lost', async () => {
  let wentDown = false;
  const result = await runScenario(cluster, {
    name: 'agent partition 14 s',
    async fault({ client, agents }) {
      const [cut] = agents;
      const at = Date.now();
      cut!.proxy.cut();
      wentDown = Boolean(
        await waitFor(
          async () => ((await client.get<{ state: string }>(`/v1/agents/${cut!.agentId}`)).body.state === 'down' ? true : undefined),
          { timeoutMs: 2 * DOWN_AFTER_MS, description: 'the cut-off agent to be down' },
        ),
      );
      await sleep(Math.max(0, 2 * DOWN_AFTER_MS - (Date.now() - at)));
      cut!.proxy.heal();
    },
  });

  expect(wentDown).toBe(true);
  expect(result.verdict.violations).toEqual([]);
  expect(result.line).toMatchObject({ duplicates: 0, lost: 0 });
  expect(result.verdict.figures.retried).toBe(0);
});
