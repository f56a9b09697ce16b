// A real partition of one agent: it reaches the bus through a TCP proxy the test cuts for 60 s,
// while the coordinator and a second agent stay connected. It runs two jobs, one per disconnect
// mode (with a short `after` to keep the test short):
// - stop: the cut-off agent stops its attempt once it has heard no coordinator for `after`; the
//   run is retried on the other agent only after that, so the two executions never overlap;
// - keep: the attempt runs on, and the run is retried on the other agent as soon as the agent is
//   down (two executions at once: what keep means); its late result is fenced when it reports.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import {
  api,
  createTestEnv,
  freePort,
  markingExecutor,
  overlappingExecutions,
  readExecutions,
  runHelpers,
  startAgent,
  startCoordinator,
  startPrivateNats,
  startTcpProxy,
  waitFor,
  type ApiClient,
  type Run,
  type StartedAgent,
  type TcpProxy,
  type TestEnv,
} from '../support/index.js';

const PARTITION_MS = 60_000;

let env: TestEnv;
let client: ApiClient;
let db: pg.Client;
let natsUrl: string;
let proxy: TcpProxy;

beforeAll(async () => {
  env = await createTestEnv();
  const port = await freePort();
  await startPrivateNats(env, port);
  natsUrl = `nats://127.0.0.1:${port}`;
  proxy = await startTcpProxy({ host: '127.0.0.1', port });
  env.onCleanup(() => proxy.close());
  // Default liveness settings: the agent is declared down within 10 s of its last heartbeat.
  client = api((await startCoordinator(env, ['--nats', natsUrl])).url);
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await env?.cleanup();
});

it('stop: the cut-off agent stops its attempt before the retry starts; keep: the retry starts at once', { timeout: 240_000 }, async () => {
  const marks = join(mkdtempSync(join(tmpdir(), 'drover-partition-')), 'marks');
  const runs = runHelpers(client);
  const cutOff: StartedAgent = await startAgent(env, {
    name: 'cut-off',
    slots: 2,
    labels: { pool: 'partition' },
    extraArgs: ['--nats', `nats://127.0.0.1:${proxy.port}`],
  });
  const common = {
    // Long enough to outlast the partition on the cut-off agent, short enough on the other.
    executor: markingExecutor(marks, 40),
    killGracePeriod: '1s',
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'partition' }],
  };
  const stopJob = await runs.createJob({ ...common, name: 'stops-when-cut-off', disconnect: { mode: 'stop', after: '8s' } });
  const keepJob = await runs.createJob({ ...common, name: 'keeps-running', disconnect: { mode: 'keep' } });
  const stopRun = await runs.trigger(stopJob);
  const keepRun = await runs.trigger(keepJob);
  await waitFor(async () => (readExecutions(marks).length === 2 ? true : undefined), { description: 'both runs to start on the agent' });
  for (const id of [stopRun, keepRun]) expect((await client.get<Run>(`/v1/runs/${id}`)).body.agentId).toBe(cutOff.agentId);
  const other = await startAgent(env, { name: 'connected', slots: 2, labels: { pool: 'partition' }, extraArgs: ['--nats', natsUrl] });

  const cutAt = Date.now();
  proxy.cut();
  await waitFor(
    async () => ((await client.get<{ state: string }>(`/v1/agents/${cutOff.agentId}`)).body.state === 'down' ? true : undefined),
    {
      timeoutMs: 30_000,
      description: 'the cut-off agent to be down',
    },
  );
  const downAt = Date.now();
  const retried = await waitFor(
    async () => {
      const all = readExecutions(marks);
      return all.filter((e) => e.attempt === 2).length === 2 ? all : undefined;
    },
    { timeoutMs: PARTITION_MS - 5_000, description: 'both runs to be retried on the connected agent' },
  );
  const byRun = (runId: string, attempt: number) => retried.find((e) => e.runId === runId && e.attempt === attempt);
  const sinceCut = (ns: bigint | undefined) => (ns === undefined ? 'not yet' : `${Number(ns / 1_000_000n) - cutAt} ms`);
  console.log(
    `cut → agent down: ${downAt - cutAt} ms; → keep run retried: ${sinceCut(byRun(keepRun, 2)?.startNs)}; ` +
      `→ stop attempt stopped: ${sinceCut(byRun(stopRun, 1)?.endNs)}; → stop run retried: ${sinceCut(byRun(stopRun, 2)?.startNs)}`,
  );
  await new Promise((r) => setTimeout(r, Math.max(0, PARTITION_MS - (Date.now() - cutAt))));
  proxy.heal();

  const [stopped, kept] = await Promise.all(
    [stopRun, keepRun].map((id) =>
      waitFor(
        async () => {
          const r = (await client.get<Run>(`/v1/runs/${id}`)).body;
          return r.state === 'succeeded' ? r : undefined;
        },
        { timeoutMs: 90_000, description: `run ${id} to succeed` },
      ),
    ),
  );
  for (const r of [stopped!, kept!]) {
    expect(r.attempt).toBe(2);
    expect(r.agentId).toBe(other.agentId);
    expect(r.attempts.map((a) => a.outcome)).toEqual(['lost', 'succeeded']);
  }
  // The cut-off agent reconnects and reports what its attempts did; both results are stale.
  const fenced = await waitFor(
    async () => {
      const rows = (
        await db.query<{ run_id: string; token: number }>(
          `SELECT DISTINCT run_id, token::int AS token FROM fenced_messages WHERE agent_id = $1 AND kind = 'finished'`,
          [cutOff.agentId],
        )
      ).rows;
      return rows.length === 2 ? rows : undefined;
    },
    { timeoutMs: 60_000, description: "the cut-off agent's two results to be fenced" },
  );
  expect(fenced.map((f) => f.run_id).sort()).toEqual([stopRun, keepRun].sort());

  // Executions counted: each run ran twice. With stop, the first was stopped by its agent before
  // the retry started; with keep, the first ran on to its end while the retry ran.
  const executions = await waitFor(
    async () => {
      const all = readExecutions(marks);
      return all.every((e) => e.how !== undefined) ? all : undefined;
    },
    { timeoutMs: 60_000, description: 'every execution to end' },
  );
  expect(executions.map((e) => `${e.runId === stopRun ? 'stop' : 'keep'}:${e.attempt}:${e.how}`).sort()).toEqual([
    'keep:1:finished',
    'keep:2:finished',
    'stop:1:stopped',
    'stop:2:finished',
  ]);
  expect(overlappingExecutions(executions.filter((e) => e.runId === stopRun))).toEqual([]);
  expect(overlappingExecutions(executions.filter((e) => e.runId === keepRun))).toHaveLength(1);
  expect(stopped!.attempts[0]!.error).toMatch(/silent past the job's disconnect.after/);
});
