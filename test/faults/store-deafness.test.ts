// The coordinator does not blame agents for its own deafness: this test's database is locked out
// for 8 s (well past the 3 s down time) while runs execute, so no heartbeat can be recorded. Once
// PostgreSQL is back the leader waits one down-deadline before judging anyone (fair liveness),
// and by then the agent has heartbeated again: it is never marked down, and every run executes
// once, at attempt 1.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  databaseLockout,
  FAST_LIVENESS_ARGS,
  makeStateDir,
  markingExecutor,
  overlappingExecutions,
  readExecutions,
  runHelpers,
  sleep,
  startAgent,
  startCoordinator,
  waitFor,
  type DatabaseLockout,
  type TestEnv,
} from '../support/index.js';

const OUTAGE_MS = 8000;
const RUNS = 4;

let env: TestEnv;
let lockout: DatabaseLockout;

beforeAll(async () => {
  env = await createTestEnv();
  lockout = await databaseLockout(env.databaseUrl);
});
afterAll(async () => {
  await lockout?.close();
  await env?.cleanup();
});

it('marks no agent down for heartbeats it could not record while PostgreSQL was away', { timeout: 120_000 }, async () => {
  const coordinator = await startCoordinator(env, [...FAST_LIVENESS_ARGS]);
  const client = api(coordinator.url);
  const h = runHelpers(client);
  const agent = await startAgent(env, { slots: RUNS });
  const marks = join(makeStateDir(env, 'marks'), 'marks');
  const job = await h.createJob({ name: 'runs-through-the-outage', executor: markingExecutor(marks, 15) });
  const runs: string[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await h.trigger(job));
  await waitFor(() => readExecutions(marks).length === RUNS || undefined, { description: 'every run to start' });

  await lockout.lock();
  await sleep(OUTAGE_MS);
  await lockout.unlock();
  const recoveredAt = Date.now();

  for (const id of runs) expect((await h.waitForRun(id, undefined, 60_000)).state).toBe('succeeded');
  const attempts = await Promise.all(runs.map(async (id) => (await h.getRun(id)).attempt));
  const downLines = coordinator.proc.lines.filter((l) => l.json?.msg === 'agents stopped heartbeating and are now down');
  const agentState = (await client.get<{ state: string }>(`/v1/agents/${agent.agentId}`)).body.state;
  const executions = readExecutions(marks);
  console.log(
    `PostgreSQL locked out ${OUTAGE_MS} ms (down after 3 s) → ${RUNS} runs, ${executions.length} executions, ` +
      `attempts ${attempts.join(',')}, agent marked down ${downLines.length} times, all ended ${Date.now() - recoveredAt} ms after recovery`,
  );
  expect(downLines).toEqual([]);
  expect(agentState).toBe('ready');
  expect(attempts).toEqual(runs.map(() => 1));
  expect(executions.map((e) => [e.runId, e.attempt, e.how]).sort()).toEqual(runs.map((id) => [id, 1, 'finished']).sort());
  expect(overlappingExecutions(executions)).toEqual([]);
  await agent.stop();
});
