// A leader paused past its lease (SIGSTOP for 10 s, the lease lasts 6 s) and resumed: the other
// coordinator takes over meanwhile, and the resumed one notices its lease lapsed before acting on
// it (no claim, no offer, no sweep), then steps down. Across it all, an every-second cron job
// and one-off runs triggered during the pause and right at the resume execute once each, at
// attempt 1, one run per fire.
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
  isTerminalState,
  waitFor,
  type StartedCoordinator,
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

/** How many runs this coordinator offered (its dispatch latency histogram counts one per offer). */
async function offeredBy(c: StartedCoordinator): Promise<number> {
  const text = (await fetch(`${c.url}/metrics`).then((r) => r.text())) as string;
  const line = text.split('\n').find((l) => l.startsWith('drover_dispatch_latency_seconds_count'));
  return Number(line?.split(' ').pop() ?? 0);
}

it('fences a leader resumed after its lease lapsed; no run or fire twice', { timeout: 150_000 }, async () => {
  const a = await startCoordinator(env, ['--node-id', 'coordinator-a']);
  const b = await startCoordinator(env, ['--node-id', 'coordinator-b']);
  const agent = await startAgent(env, { slots: 8 });
  const marks = join(makeStateDir(env, 'marks'), 'marks');
  const h = runHelpers(api(a.url));
  const cron = await h.createJob({ name: 'every-second', executor: markingExecutor(marks, 0), schedule: { every: '1s' } });
  const oneOff = await h.createJob({ name: 'one-off', executor: markingExecutor(marks, 2) });
  await sleep(5000);

  const leader = await leaderOf([a, b]);
  const survivor = leader === a ? b : a;
  const s = runHelpers(api(survivor.url));
  process.kill(leader.proc.pid, 'SIGSTOP');
  const pausedAt = Date.now();
  await sleep(1000);
  for (let i = 0; i < 3; i++) await s.trigger(oneOff);
  await sleep(10_000 - (Date.now() - pausedAt));
  await waitFor(async () => (await api(survivor.url).get<{ leader: boolean }>('/readyz')).body.leader || undefined, {
    description: 'the survivor to take the lease',
  });
  const resumedAt = Date.now();
  process.kill(leader.proc.pid, 'SIGCONT');
  // Runs queued right as the old leader resumes: both dispatchers could reach for them.
  for (let i = 0; i < 5; i++) await s.trigger(oneOff);
  const offeredAtResume = await offeredBy(leader);
  await sleep(8000);
  const offeredAfterResume = (await offeredBy(leader)) - offeredAtResume;
  await api(survivor.url).post(`/v1/jobs/${cron}/pause`);

  const resumedLines = leader.proc.lines.filter((l) => Date.parse(String(l.json?.time ?? 0)) >= resumedAt - 1000);
  const lapse = resumedLines.findIndex((l) => l.json?.msg?.toString().startsWith('the dispatcher lease lapsed'));
  const steppedDown = resumedLines.findIndex((l) => l.json?.msg === 'stepped down as dispatcher');
  console.log(
    `leader SIGSTOPped 10 s → lease lapse noticed: ${lapse >= 0 ? 'yes' : 'no'}; offered after it: ${offeredAfterResume}; stepped down ${steppedDown >= 0 ? Date.parse(String(resumedLines[steppedDown]!.json!.time)) - resumedAt : 'never'} ms after SIGCONT`,
  );
  expect(lapse).toBeGreaterThanOrEqual(0);
  expect(steppedDown).toBeGreaterThan(lapse);

  const rows = await waitFor(
    async () => {
      const r = (
        await db.query<{ id: string; job_id: string; state: string; attempt: number; fire: string | null }>(
          `SELECT id, job_id, state, attempt, extract(epoch FROM fire_at)::bigint::text AS fire FROM runs WHERE job_id = ANY($1)`,
          [[cron, oneOff]],
        )
      ).rows;
      return r.every((x) => isTerminalState(x.state)) ? r : undefined;
    },
    { description: 'every run to end', timeoutMs: 60_000 },
  );
  const fires = rows.filter((r) => r.fire !== null).map((r) => r.fire);
  expect(new Set(fires).size).toBe(fires.length);
  // None lost either: one run for every second from the first fire to the last.
  const seconds = fires.map(Number);
  expect(Math.max(...seconds) - Math.min(...seconds) + 1).toBe(fires.length);
  const ran = rows.filter((r) => r.state !== 'skipped');
  expect(ran.filter((r) => r.job_id === oneOff)).toHaveLength(8);
  expect(ran.every((r) => r.state === 'succeeded' && r.attempt === 1)).toBe(true);
  const executions = readExecutions(marks);
  console.log(
    `leader SIGSTOPped 10 s → ${ran.length} runs (${fires.length} fires, ${rows.length - ran.length} skipped), ${executions.length} executions`,
  );
  expect(executions.map((e) => `${e.runId}:${e.attempt}`).sort()).toEqual(ran.map((r) => `${r.id}:1`).sort());
  expect(overlappingExecutions(executions)).toEqual([]);
  await agent.stop();
});
