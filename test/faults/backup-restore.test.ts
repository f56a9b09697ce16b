// A backup is a pg_dump of the coordinator's database, nothing else: restored into a fresh
// database, a new coordinator picks up where the dump was taken. Redis is left out of date on
// purpose (it still holds runs queued after the dump) and an agent stays up across the restore
// with an attempt in flight. Counted by executions: each run the dump knew runs once, at attempt
// 1; runs queued after the dump never run; the attempt in flight keeps its single execution.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  markingExecutor,
  randomId,
  readExecutions,
  runHelpers,
  startAgent,
  startCoordinator,
  type ApiClient,
  type Run,
  type TestEnv,
} from '../support/index.js';
import { ADMIN_URL, databaseUrl } from '../support/database.js';

let env: TestEnv;
let dir: string;
const restoredDb = `drover_restore_${randomId()}`;

beforeAll(async () => {
  env = await createTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'drover-backup-'));
});
afterAll(async () => {
  await env?.cleanup();
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${restoredDb} WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

const jobIn = (pool: string, seconds: number) => ({
  executor: markingExecutor(join(dir, 'marks'), seconds),
  constraints: [{ attribute: 'label.pool', operator: '=', value: pool }],
});

/** Waits until every run in `ids` is in `state`, as `client`'s coordinator sees them. */
async function waitForState(client: ApiClient, ids: string[], state: string): Promise<void> {
  const { waitForRun } = runHelpers(client);
  for (const id of ids) await waitForRun(id, (r) => r.state === state, 40_000);
}

it('restores a pg_dump into a fresh database and carries on from it, each run executed once', { timeout: 120_000 }, async () => {
  const first = await startCoordinator(env);
  const before = api(first.url);
  const steady = await startAgent(env, { labels: { pool: 'now' }, name: 'steady' });

  const { createJob, trigger } = runHelpers(before);
  const fast = await createJob({ name: 'fast', ...jobIn('now', 0) });
  const done = [await trigger(fast), await trigger(fast), await trigger(fast)];
  await waitForState(before, done, 'succeeded');
  const slow = await createJob({ name: 'slow', ...jobIn('now', 6) });
  const inFlight = await trigger(slow);
  await waitForState(before, [inFlight], 'running');
  // No agent of pool `later` yet: these wait in the queue, in PostgreSQL and in Redis.
  const later = await createJob({ name: 'later', ...jobIn('later', 0) });
  const queued = [await trigger(later), await trigger(later), await trigger(later)];

  // The backup, taken while the coordinator runs, as an operator would.
  const dump = join(dir, 'drover.dump');
  execFileSync('pg_dump', ['--format=custom', `--file=${dump}`, env.databaseUrl]);

  // Queued after the dump: Redis knows these, the restored database will not.
  const lost = [await trigger(later), await trigger(later)];
  await first.stop();

  // The disaster: the database is gone. Restore the dump into a new one.
  execFileSync('createdb', ['--maintenance-db', ADMIN_URL, restoredDb]);
  execFileSync('pg_restore', ['--no-owner', '--no-acl', '--exit-on-error', `--dbname=${databaseUrl(restoredDb)}`, dump]);

  const second = await startCoordinator(env, { env: { DROVER_DATABASE_URL: databaseUrl(restoredDb) } });
  const after = api(second.url);
  // The agent that stayed up delivers the attempt that was running when the dump was taken.
  await waitForState(after, [inFlight], 'succeeded');
  for (const id of done) expect((await after.get<Run>(`/v1/runs/${id}`)).body.state).toBe('succeeded');
  for (const id of lost) expect((await after.get(`/v1/runs/${id}`)).status).toBe(404);

  await startAgent(env, { labels: { pool: 'later' }, name: 'later' });
  await waitForState(after, queued, 'succeeded');
  // Queued behind the stale Redis entries: once it has run, they would have run before it.
  const probe = await runHelpers(after).trigger(later);
  await waitForState(after, [probe], 'succeeded');

  const executions = readExecutions(join(dir, 'marks'));
  const ran = (ids: string[]) => executions.filter((e) => ids.includes(e.runId));
  expect(ran(done)).toHaveLength(3);
  expect(ran([inFlight])).toHaveLength(1);
  expect(ran(queued)).toHaveLength(3);
  expect(ran([probe])).toHaveLength(1);
  expect(ran(lost)).toHaveLength(0);
  expect(executions.every((e) => e.attempt === 1 && e.how === 'finished')).toBe(true);
  expect(executions).toHaveLength(8);

  // The restored coordinator lists every job the dump held, and the agents it knew.
  const jobs = (await after.get<{ items: Array<{ name: string }> }>('/v1/jobs')).body.items.map((j) => j.name);
  expect(jobs.sort()).toEqual(['fast', 'later', 'slow']);
  await steady.stop();
});
