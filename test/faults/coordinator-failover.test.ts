// A coordinator crash must not cost a healthy agent its standing. Two coordinators, one agent
// running an exec job; the leader is killed with SIGKILL. The agent's heartbeats and reports
// fail over to the survivor within seconds (not after Moleculer's request timeout or its node
// loss detection), so the survivor never declares the agent down; the running run ends once, at
// attempt 1, and a new run is dispatched by the survivor.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import {
  api,
  createTestEnv,
  leaderOf,
  makeStateDir,
  markingExecutor,
  overlappingExecutions,
  readExecutions,
  runHelpers,
  sleep,
  startAgent,
  startCoordinator,
  waitFor,
  type TestEnv,
} from '../support/index.js';

let env: TestEnv;
let db: pg.Client;

beforeAll(async () => {
  env = await createTestEnv();
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await env?.cleanup();
});

it('keeps a healthy agent up across a leader kill -9; its run ends once', { timeout: 120_000 }, async () => {
  const a = await startCoordinator(env, ['--node-id', 'coordinator-a']);
  const b = await startCoordinator(env, ['--node-id', 'coordinator-b']);
  const agent = await startAgent(env, { slots: 2 });
  const marks = join(makeStateDir(env, 'marks'), 'marks');
  const h = runHelpers(api(a.url));
  const job = await h.createJob({ name: 'long', executor: markingExecutor(marks, 20) });
  const runId = await h.trigger(job);
  await waitFor(() => readExecutions(marks).length === 1 || undefined, { description: 'the run to start' });
  // Let the agent see both coordinators for a few heartbeats, so both take its heartbeats.
  await sleep(4000);

  const leader = await leaderOf([a, b]);
  const survivor = leader === a ? b : a;
  const s = runHelpers(api(survivor.url));
  const beatAt = async () =>
    (await db.query<{ at: Date }>('SELECT last_heartbeat_at AS at FROM agents WHERE id = $1', [agent.agentId])).rows[0]!.at.getTime();
  let lastBeat = await beatAt();
  const killedAt = Date.now();
  await leader.proc.kill();

  // Watch the agent as the survivor sees it, and its heartbeats as recorded, for 25 s.
  const states = new Set<string>();
  let firstBeatAfterKill: number | undefined;
  let longestSilence = 0;
  while (Date.now() - killedAt < 25_000) {
    states.add((await api(survivor.url).get<{ state: string }>(`/v1/agents/${agent.agentId}`)).body.state);
    const at = await beatAt();
    if (at > lastBeat) {
      longestSilence = Math.max(longestSilence, at - lastBeat);
      if (at > killedAt && firstBeatAfterKill === undefined) firstBeatAfterKill = at - killedAt;
      lastBeat = at;
    }
    await sleep(200);
  }
  longestSilence = Math.max(longestSilence, Date.now() - lastBeat);
  console.log(
    `leader kill -9 → first heartbeat answered by survivor: ${firstBeatAfterKill ?? 'none'} ms; longest heartbeat silence: ${longestSilence} ms`,
  );

  const run = await s.waitForRun(runId, undefined, 30_000);
  const next = await s.trigger(job);
  const nextRun = await s.waitForRun(next, undefined, 40_000);

  const downLines = survivor.proc.lines.filter((l) => l.json?.msg === 'agents stopped heartbeating and are now down');
  expect(downLines.map((l) => l.text)).toEqual([]);
  expect([...states]).toEqual(['ready']);
  expect(run.state).toBe('succeeded');
  expect(run.attempt).toBe(1);
  expect(nextRun.state).toBe('succeeded');
  const executions = readExecutions(marks);
  expect(executions.map((e) => [e.runId, e.attempt, e.how])).toEqual([
    [runId, 1, 'finished'],
    [next, 1, 'finished'],
  ]);
  expect(overlappingExecutions(executions)).toEqual([]);
  await agent.stop();
});
