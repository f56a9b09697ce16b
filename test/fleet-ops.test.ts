// Operator actions on agents, with real agent processes: cordon keeps new runs away, uncordon
// lets them back, and drain with a deadline takes back what is still running when it passes.
import { beforeAll, expect, it } from 'vitest';
import { useCluster, waitFor, type Problem, type Run, type StartedAgent } from './support/index.js';

const cluster = useCluster({
  coordinatorArgs: ['--reconcile-interval', '300ms'],
  agents: [
    { labels: { pool: 'ops' }, slots: 2, name: 'agent-a' },
    { labels: { pool: 'ops' }, slots: 3, name: 'agent-b' },
  ],
});
const { client } = cluster;
let a: StartedAgent;
let b: StartedAgent;
let jobId: string;

beforeAll(async () => {
  [a, b] = cluster.agents as [StartedAgent, StartedAgent];
  jobId = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'long-ops',
      executor: { type: 'noop', sleep: '20s' },
      constraints: [{ attribute: 'label.pool', operator: '=', value: 'ops' }],
    })
  ).body.id;
});

async function runningOn(runId: string): Promise<Run> {
  return waitFor(
    async () => {
      const r = (await client.get<Run>(`/v1/runs/${runId}`)).body;
      return r.state === 'running' ? r : undefined;
    },
    { description: `run ${runId} to be running` },
  );
}

it('cordon keeps new runs off an agent; uncordon lets them back', async () => {
  const cordoned = await client.post<{ state: string }>(`/v1/agents/${a.agentId}/cordon`);
  expect(cordoned.status).toBe(200);
  expect(cordoned.body.state).toBe('cordoned');
  const first = (await client.post<{ id: string }>(`/v1/jobs/${jobId}/runs`)).body.id;
  const second = (await client.post<{ id: string }>(`/v1/jobs/${jobId}/runs`)).body.id;
  expect((await runningOn(first)).agentId).toBe(b.agentId);
  expect((await runningOn(second)).agentId).toBe(b.agentId);

  expect((await client.post<{ state: string }>(`/v1/agents/${a.agentId}/uncordon`)).body.state).toBe('ready');
  const third = (await client.post<{ id: string }>(`/v1/jobs/${jobId}/runs`)).body.id;
  // The least loaded fit: agent a is empty, agent b runs two of its three slots.
  expect((await runningOn(third)).agentId).toBe(a.agentId);
});

it('drain with a deadline re-queues what is still running when it passes, and it runs elsewhere', async () => {
  const onA = (await client.get<{ items: Run[] }>(`/v1/runs?job=${jobId}&status=running`)).body.items.find((r) => r.agentId === a.agentId);
  expect(onA).toBeDefined();
  const drained = await client.post<{ state: string; drainDeadline: string | null }>(`/v1/agents/${a.agentId}/drain`, { deadline: '1s' });
  expect(drained.body.state).toBe('draining');
  expect(drained.body.drainDeadline).not.toBeNull();
  const moved = await waitFor(
    async () => {
      const r = (await client.get<Run>(`/v1/runs/${onA?.id}`)).body;
      return r.state === 'running' && r.agentId === b.agentId ? r : undefined;
    },
    { description: 'the run to be taken back and run on agent b' },
  );
  expect(moved.transitions.some((t) => t.to === 'queued' && (t.reason ?? '').includes('drain deadline'))).toBe(true);
  // Agent a was told to stop the old attempt: it reports no run any more.
  await waitFor(
    async () => {
      const agent = (await client.get<{ usage: { slotsUsed: number } | null }>(`/v1/agents/${a.agentId}`)).body;
      return agent.usage?.slotsUsed === 0 ? true : undefined;
    },
    { description: 'agent a to have stopped the re-queued attempt' },
  );
});

it('answers clearly when an action does not apply, the agent is unknown, or the deadline is bad', async () => {
  const notCordoned = await client.post<Problem>(`/v1/agents/${b.agentId}/uncordon`);
  expect(notCordoned.status).toBe(409);
  expect(notCordoned.body.detail).toContain('is ready');
  expect((await client.post<Problem>('/v1/agents/no-such-agent/cordon')).status).toBe(404);
  const bad = await client.post<Problem>(`/v1/agents/${b.agentId}/drain`, { deadline: 'soonish' });
  expect(bad.status).toBe(400);
  expect(bad.body.errors?.map((e) => e.field)).toEqual(['deadline']);
});

it("summarises the fleet and keeps each agent's heartbeat history", async () => {
  const fleet = (
    await client.get<{
      agents: { total: number; byState: Record<string, number> };
      capacity: { total: { slots: number } };
      byLabel: Array<{ label: string; agents: number; total: { slots: number } }>;
      down: unknown[];
      runsLostLastHour: number;
    }>('/v1/fleet')
  ).body;
  expect(fleet.agents.total).toBe(2);
  expect(fleet.agents.byState).toEqual({ draining: 1, ready: 1 });
  expect(fleet.capacity.total.slots).toBe(5);
  expect(fleet.byLabel.find((l) => l.label === 'pool=ops')).toMatchObject({ agents: 2, total: { slots: 5 } });
  expect(fleet.down).toEqual([]);
  const history = await waitFor(
    async () => {
      const m = (
        await client.get<{ points: Array<{ samples: number; slotsUsed: number; memoryUsedBytes: number }> }>(
          `/v1/agents/${b.agentId}/metrics?since=10m`,
        )
      ).body;
      return m.points.length > 0 ? m.points : undefined;
    },
    { description: 'a heartbeat in the history' },
  );
  expect(history[0]?.samples).toBeGreaterThan(0);
  expect(history[0]?.memoryUsedBytes).toBeGreaterThan(0);
  // The declared response schemas keep every field the store returns (fastify drops undeclared ones).
  const usageFields = ['cpuPercent', 'load1', 'memoryUsedBytes', 'slotsUsed'];
  expect(Object.keys(history[0] ?? {}).sort()).toEqual(['at', 'samples', ...usageFields].sort());
  const metrics = (await client.get<{ agentId: string; since: string }>(`/v1/agents/${b.agentId}/metrics?since=10m`)).body;
  expect(metrics.agentId).toBe(b.agentId);
  expect(Number.isNaN(Date.parse(metrics.since))).toBe(false);
  const agent = (await client.get<{ usage: Record<string, number> | null }>(`/v1/agents/${b.agentId}`)).body;
  expect(Object.keys(agent.usage ?? {}).sort()).toEqual(usageFields);
  const bad = await client.get<Problem>(`/v1/agents/${b.agentId}/metrics?since=last-week`);
  expect(bad.status).toBe(400);
  expect(bad.body.errors?.map((e) => e.field)).toEqual(['since']);
});

it('SIGTERM drains an agent: the coordinator sees it draining, its run finishes, and it exits cleanly', async () => {
  const c = await cluster.startAgent({ labels: { pool: 'term' }, slots: 1, name: 'agent-c' });
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'finishes-on-term',
      executor: { type: 'noop', sleep: '2s' },
      constraints: [{ attribute: 'label.pool', operator: '=', value: 'term' }],
    })
  ).body;
  const runId = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`)).body.id;
  expect((await runningOn(runId)).agentId).toBe(c.agentId);
  c.proc.child.kill('SIGTERM');
  await waitFor(
    async () => ((await client.get<{ state: string }>(`/v1/agents/${c.agentId}`)).body.state === 'draining' ? true : undefined),
    {
      description: 'the agent to be draining',
    },
  );
  const status = await c.proc.exited;
  expect(status.code).toBe(0);
  expect((await client.get<Run>(`/v1/runs/${runId}`)).body.state).toBe('succeeded');
});

it('a second SIGTERM gives the agent’s runs up as lost, and the run is retried on another agent', async () => {
  const d = await cluster.startAgent({ labels: { pool: 'quit' }, slots: 1, name: 'agent-d' });
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'outlives-its-agent',
      executor: { type: 'noop', sleep: '30s' },
      constraints: [{ attribute: 'label.pool', operator: '=', value: 'quit' }],
    })
  ).body;
  const runId = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`)).body.id;
  expect((await runningOn(runId)).agentId).toBe(d.agentId);
  d.proc.child.kill('SIGTERM');
  await waitFor(
    async () => ((await client.get<{ state: string }>(`/v1/agents/${d.agentId}`)).body.state === 'draining' ? true : undefined),
    { description: 'the agent to be draining' },
  );
  d.proc.child.kill('SIGTERM');
  expect((await d.proc.exited).code).toBe(0);
  // Not a failure of the job: the attempt is lost, and the default policy retries it once.
  const e = await cluster.startAgent({ labels: { pool: 'quit' }, slots: 1, name: 'agent-e' });
  const run = await waitFor(
    async () => {
      const r = (await client.get<Run>(`/v1/runs/${runId}`)).body;
      return r.state === 'running' && r.agentId === e.agentId ? r : undefined;
    },
    { description: 'the run to be retried on the other agent', timeoutMs: 30_000 },
  );
  expect(run.attempts.map((a) => [a.outcome, a.agentId])).toEqual([
    ['lost', d.agentId],
    ['running', e.agentId],
  ]);
  expect(run.transitions.map((t) => t.to).slice(-5)).toEqual(['running', 'lost', 'queued', 'offered', 'running']);
  await client.post(`/v1/runs/${runId}/cancel`, {});
});
