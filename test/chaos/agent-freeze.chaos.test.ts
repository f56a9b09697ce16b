// Chaos: an agent is frozen (SIGSTOP) for 25 s mid-traffic and resumed (SIGCONT). Its attempts'
// processes are not frozen with it: they run to their end. The coordinator declares it down and,
// by the jobs' disconnect rule (stop after 10 s), re-dispatches its runs once they must have
// stopped; the resumed agent's late results are fenced. Runs may execute twice (the policy allows
// it), never two executions at once; nothing lost, every run terminal.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sleep, waitFor } from '../support/index.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { runScenario } from './scenario.js';

const FROZEN_MS = 25_000;

let cluster: ChaosCluster;
beforeAll(async () => {
  cluster = await startChaosCluster({ agents: 2, slots: 4 });
});
afterAll(async () => cluster?.close());

it('agent frozen and resumed: retried per policy, never two executions at once, none lost', async () => {
  const states: string[] = [];
  const result = await runScenario(cluster, {
    name: 'agent frozen 25 s',
    disconnect: { mode: 'stop', after: '10s' },
    async fault({ client, agents }) {
      const [frozen] = agents;
      process.kill(frozen!.proc.pid, 'SIGSTOP');
      try {
        await sleep(FROZEN_MS);
        states.push((await client.get<{ state: string }>(`/v1/agents/${frozen!.agentId}`)).body.state);
      } finally {
        process.kill(frozen!.proc.pid, 'SIGCONT');
      }
      await waitFor(
        async () => ((await client.get<{ state: string }>(`/v1/agents/${frozen!.agentId}`)).body.state === 'ready' ? true : undefined),
        { timeoutMs: 30_000, description: 'the resumed agent to be ready again' },
      );
      states.push('ready');
    },
  });

  expect(states).toEqual(['down', 'ready']);
  expect(result.verdict.violations).toEqual([]);
  expect(result.line).toMatchObject({ duplicates: 0, lost: 0 });
});
