// An agent killed with SIGKILL while it runs jobs: the coordinator notices it went silent and,
// once the job's disconnect rule says the agent must have stopped them, marks its runs lost and
// re-dispatches them to the other agents, where they succeed. None is lost, none accepted twice,
// each executed twice at most and never two at once. Heartbeats are fast here (1 s, down after
// 3 s) and the rule short (stop after 5 s) to keep it short.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import {
  FAST_LIVENESS_ARGS,
  markingExecutor,
  overlappingExecutions,
  readExecutions,
  useCluster,
  waitFor,
  type Run,
  type StartedAgent,
} from '../support/index.js';

const cluster = useCluster({
  coordinatorArgs: FAST_LIVENESS_ARGS,
  agents: [1, 2, 3].map((i) => ({ labels: { pool: 'lost' }, slots: 10, name: `agent-${i}` })),
});
const { client } = cluster;
let agents: StartedAgent[];

beforeAll(() => {
  agents = [...cluster.agents];
});

it('re-dispatches every run of a killed agent to the others, where each succeeds exactly once', { timeout: 90_000 }, async () => {
  const marks = join(mkdtempSync(join(tmpdir(), 'drover-lost-')), 'marks');
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'long-enough',
      executor: markingExecutor(marks, 4),
      killGracePeriod: '1s',
      disconnect: { mode: 'stop', after: '5s' },
      constraints: [{ attribute: 'label.pool', operator: '=', value: 'lost' }],
    })
  ).body;
  const ids = (await client.post<{ runs: Array<{ id: string }> }>('/v1/runs/batch', { runs: [{ job: job.id, count: 20 }] })).body.runs.map(
    (r) => r.id,
  );
  const runningOn = await waitFor(
    async () => {
      const page = (await client.get<{ items: Run[] }>(`/v1/runs?job=${job.id}&status=running&limit=100`)).body.items;
      return page.length === 20 ? page : undefined;
    },
    { description: 'all 20 runs to be running' },
  );
  const victim = agents.find((a) => runningOn.some((r) => r.agentId === a.agentId)) as StartedAgent;
  const victimRuns = runningOn.filter((r) => r.agentId === victim.agentId).map((r) => r.id);
  expect(victimRuns.length).toBeGreaterThan(0);
  const killedAt = Date.now();
  await victim.kill();

  const runs = await waitFor(
    async () => {
      const all = await Promise.all(ids.map(async (id) => (await client.get<Run>(`/v1/runs/${id}`)).body));
      return all.every((r) => ['succeeded', 'failed', 'lost', 'cancelled', 'timed_out'].includes(r.state)) ? all : undefined;
    },
    { timeoutMs: 60_000, description: 'every run to end' },
  );

  expect(runs.map((r) => r.state)).toEqual(ids.map(() => 'succeeded'));
  for (const r of runs) {
    // Exactly one accepted result per run.
    expect(r.transitions.filter((t) => t.to === 'succeeded')).toHaveLength(1);
    if (victimRuns.includes(r.id)) {
      expect(r.attempt).toBe(2);
      expect(r.agentId).not.toBe(victim.agentId);
      expect(r.transitions.map((t) => t.to)).toEqual(['queued', 'offered', 'running', 'lost', 'queued', 'offered', 'running', 'succeeded']);
    } else {
      expect(r.attempt).toBe(1);
    }
  }
  const lostAt = Math.min(...runs.flatMap((r) => r.transitions.filter((t) => t.to === 'lost').map((t) => Date.parse(t.at))));
  const reofferedAt = Math.max(
    ...runs.filter((r) => victimRuns.includes(r.id)).map((r) => Date.parse(r.transitions.filter((t) => t.to === 'offered')[1]?.at ?? '')),
  );
  // Figures for the record, not assertions: detection and re-dispatch after kill -9 (the rule's
  // 5 s, the kill grace of 1 s and the 5 s margin, counted from the last heartbeat).
  console.log(`kill -9 → runs marked lost: ${lostAt - killedAt} ms; → all ${victimRuns.length} re-offered: ${reofferedAt - killedAt} ms`);
  // Executions counted: the victim's runs twice (attempts 1 and 2), the others once, none two at once.
  const executions = await waitFor(
    async () => {
      const all = readExecutions(marks);
      return all.filter((e) => e.how !== undefined).length >= 20 ? all : undefined;
    },
    { timeoutMs: 30_000, description: 'the executions to be recorded' },
  );
  const attemptsOf = (id: string) => executions.filter((e) => e.runId === id).map((e) => e.attempt);
  for (const id of ids) expect(attemptsOf(id)).toEqual(victimRuns.includes(id) ? [1, 2] : [1]);
  // An execution killed with its agent (SIGKILL) records no end; the others must not overlap.
  expect(overlappingExecutions(executions.filter((e) => e.endNs !== undefined))).toEqual([]);
  const agent = (await client.get<{ state: string }>(`/v1/agents/${victim.agentId}`)).body;
  expect(agent.state).toBe('down');
  const fleet = (await client.get<{ down: Array<{ id: string }>; runsLostLastHour: number }>('/v1/fleet')).body;
  expect(fleet.down.map((d) => d.id)).toEqual([victim.agentId]);
  expect(fleet.runsLostLastHour).toBe(victimRuns.length);
});

it('loses and retries the runs of an agent that restarted before it could be declared down', { timeout: 60_000 }, async () => {
  const first = await cluster.startAgent({ labels: { pool: 'restart' }, slots: 2, name: 'restarting' });
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'outlived-its-agent',
      executor: { type: 'noop', sleep: '2s' },
      constraints: [{ attribute: 'label.pool', operator: '=', value: 'restart' }],
    })
  ).body;
  const runId = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`)).body.id;
  await waitFor(async () => ((await client.get<Run>(`/v1/runs/${runId}`)).body.state === 'running' ? true : undefined), {
    description: 'the run to be running',
  });
  await first.kill();
  // The same agent (same state dir, same id) is back at once: it never misses a heartbeat.
  const again = await cluster.startAgent({ labels: { pool: 'restart' }, slots: 2, name: 'restarting', stateDir: first.stateDir });
  expect(again.agentId).toBe(first.agentId);
  const run = await waitFor(
    async () => {
      const r = (await client.get<Run>(`/v1/runs/${runId}`)).body;
      return r.state === 'succeeded' ? r : undefined;
    },
    { timeoutMs: 30_000, description: 'the run to be retried and succeed' },
  );
  expect(run.attempt).toBe(2);
  expect(run.transitions.map((t) => t.to)).toEqual(['queued', 'offered', 'running', 'lost', 'queued', 'offered', 'running', 'succeeded']);
});
