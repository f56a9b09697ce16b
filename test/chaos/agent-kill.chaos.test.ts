// Chaos: the agent running the most runs is killed with SIGKILL mid-traffic. Its reaper ends the
// attempts it ran (no process of theirs is left), the coordinator declares it down, and its runs
// are retried on the other agent by the disconnect rule (stop after 10 s): once each, never two
// executions of a run at once, nothing lost, every run terminal.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { processGone, waitFor, type Run } from '../support/index.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { readMarkedExecutions } from './marks.js';
import { runScenario } from './scenario.js';

let cluster: ChaosCluster;
beforeAll(async () => {
  cluster = await startChaosCluster({ agents: 2, slots: 4 });
});
afterAll(async () => cluster?.close());

it('agent kill -9: its runs are retried per policy, its processes are gone, none ran twice at once', async () => {
  let victimRuns: string[] = [];
  let pids: number[] = [];
  const marks = cluster.marksFile('agent kill -9');
  const result = await runScenario(cluster, {
    name: 'agent kill -9',
    disconnect: { mode: 'stop', after: '10s' },
    async fault({ client, agents }) {
      const running = (await client.get<{ items: Run[] }>('/v1/runs?status=running&limit=100')).body.items;
      const victim = agents.reduce((a, b) =>
        running.filter((r) => r.agentId === a.agentId).length >= running.filter((r) => r.agentId === b.agentId).length ? a : b,
      );
      victimRuns = running.filter((r) => r.agentId === victim.agentId).map((r) => r.id);
      await victim.kill();
      // What the victim was running when it died: the executions of its runs that had not ended.
      pids = readMarkedExecutions(marks)
        .filter((e) => victimRuns.includes(e.runId) && e.endMs === undefined && e.pid !== undefined)
        .map((e) => e.pid as number);
      await waitFor(async () => (pids.every(processGone) ? true : undefined), {
        timeoutMs: 15_000,
        description: "the killed agent's attempt processes to be gone",
      });
    },
  });

  expect(victimRuns.length, 'the victim ran something when it was killed').toBeGreaterThan(0);
  expect(pids.filter((pid) => !processGone(pid))).toEqual([]);
  expect(result.verdict.violations).toEqual([]);
  expect(result.line).toMatchObject({ duplicates: 0, lost: 0 });
  // The victim's interrupted runs were retried: attempt 2 of theirs executed after the kill.
  const retried = result.executions.filter((e) => e.attempt === 2 && victimRuns.includes(e.runId));
  expect(retried.length).toBeGreaterThan(0);
});
