// Production topology: a 3-node NATS cluster. The coordinator and the agent are given every
// node's URL; the node the agent is connected to is killed while runs execute. The agent moves
// to another node by itself, the runs in flight report their results, and each run executes
// exactly once. The cluster is the test's own (free loopback ports); the shared NATS is untouched.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  markingExecutor,
  overlappingExecutions,
  readExecutions,
  runHelpers,
  startAgent,
  startCoordinator,
  startNatsCluster,
  waitFor,
  type TestEnv,
} from '../support/index.js';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.cleanup());

it('keeps every run when the NATS node the agent uses dies, each executed once', { timeout: 60_000 }, async () => {
  const cluster = await startNatsCluster(env, 3);
  const marks = join(mkdtempSync(join(tmpdir(), 'drover-nats-cluster-')), 'marks');
  const client = api((await startCoordinator(env, ['--nats', cluster.urls])).url);
  const agent = await startAgent(env, { slots: 6, extraArgs: ['--nats', cluster.urls] });
  const h = runHelpers(client);
  const job = await h.createJob({ name: 'through-a-node-loss', executor: markingExecutor(marks, 4) });
  const res = await client.post<{ runs: Array<{ id: string }> }>('/v1/runs/batch', { runs: [{ job, count: 6 }] });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const ids = res.body.runs.map((r) => r.id);
  await waitFor(async () => (readExecutions(marks).length === 6 ? true : undefined), { description: 'the six runs to start' });

  // Moleculer subscribes each node to requests addressed to it: the agent's node id names it.
  const fragment = `agent-${agent.agentId}`;
  const before = await cluster.nodeOf(fragment);
  if (!before) throw new Error(`no NATS node holds the agent's connection (${fragment})`);
  const killedAt = Date.now();
  await before.kill();
  const after = await waitFor(async () => cluster.nodeOf(fragment), { timeoutMs: 20_000, description: 'the agent to reconnect' });
  const reconnectMs = Date.now() - killedAt;
  expect(after.name).not.toBe(before.name);

  const runs = await waitFor(
    async () => {
      const all = await Promise.all(ids.map((id) => h.getRun(id)));
      return all.every((r) => r.state === 'succeeded') ? all : undefined;
    },
    { timeoutMs: 30_000, description: 'the runs in flight to succeed' },
  );
  for (const r of runs) expect(r.attempt).toBe(1);
  const later = await h.trigger(job);
  expect((await h.waitForRun(later)).state).toBe('succeeded');

  const executions = readExecutions(marks);
  expect(executions.map((e) => `${e.runId} ${e.attempt} ${e.how}`).sort()).toEqual([...ids, later].map((id) => `${id} 1 finished`).sort());
  expect(overlappingExecutions(executions)).toEqual([]);
  console.log(
    `nats cluster: killed ${before.name}, agent on ${after.name} after ${reconnectMs} ms; runs 7, executions ${executions.length}, duplicates 0`,
  );
});
