// The runs of a down agent are given up by their job's disconnect rule, fixed when offered:
// `keep` at once, `stop` only once the agent has been silent (PostgreSQL's now() against its
// last_heartbeat_at) for the rule's whole wait; offers it may have started wait the same.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ulid } from 'ulid';
import { compileRetryPolicy, PROTOCOL_VERSION } from '@drover/shared';
import { createTestEnv, type TestEnv } from '../../../../test/support/index.js';
import { openDatabase, type Db } from './db.js';
import { insertJob } from './jobs.js';
import { upsertAgent } from './agents.js';
import { loseRunsOfDownAgents } from './lose-runs.js';
import { markOffered } from './offer-runs.js';

let env: TestEnv;
let db: Db;

beforeAll(async () => {
  env = await createTestEnv();
  db = await openDatabase(env.databaseUrl, { poolSize: 2 });
});
afterAll(async () => {
  await db?.destroy();
  await env?.cleanup();
});

const capacity = { slots: 4, cpu: 4, memoryBytes: 1 << 30 };

it('loses a keep run as soon as its agent is down, a stop run only after its silence', async () => {
  const agentId = `agent-${ulid()}`;
  await upsertAgent(db, {
    protocol: PROTOCOL_VERSION,
    agentId,
    nodeId: `node-${agentId}`,
    name: agentId,
    version: 'test',
    attributes: {},
    labels: {},
    executors: ['exec'],
    total: capacity,
    free: capacity,
    runs: [],
  });
  const job = await insertJob(db, ulid(), { name: 'cut-off', executor: { type: 'exec', command: ['true'] } });
  const policies = async () => new Map([[job.id, compileRetryPolicy(undefined)]]);
  const ids = { keep: ulid(), stop: ulid() };
  for (const id of Object.values(ids))
    await sql`INSERT INTO runs (id, job_id, state, priority, trigger, created_at, queued_at)
              VALUES (${id}, ${job.id}, 'queued', 50, 'manual', now(), now())`.execute(db);
  await markOffered(
    db,
    [
      { runId: ids.keep, agentId, redispatchAfterSilenceMs: null },
      { runId: ids.stop, agentId, redispatchAfterSilenceMs: 20_000 },
    ],
    Date.now(),
  );
  await sql`UPDATE runs SET state = 'running', started_at = now() WHERE id IN (${ids.keep}, ${ids.stop})`.execute(db);
  await sql`UPDATE agents SET state = 'down', last_heartbeat_at = now() - interval '10 seconds' WHERE id = ${agentId}`.execute(db);

  const first = await loseRunsOfDownAgents(db, Date.now(), policies);
  expect(first.runs.map((r) => r.runId)).toEqual([ids.keep]);

  // Silent 19 s: the agent may still be stopping the attempt.
  await sql`UPDATE agents SET last_heartbeat_at = now() - interval '19 seconds' WHERE id = ${agentId}`.execute(db);
  expect((await loseRunsOfDownAgents(db, Date.now(), policies)).runs).toEqual([]);
  // Silent 21 s: it has stopped it; the run is lost and goes back to the queue, saying why.
  await sql`UPDATE agents SET last_heartbeat_at = now() - interval '21 seconds' WHERE id = ${agentId}`.execute(db);
  const second = await loseRunsOfDownAgents(db, Date.now(), policies);
  expect(second.runs.map((r) => [r.runId, r.state])).toEqual([[ids.stop, 'queued']]);
  const row = await db.selectFrom('run_attempts').select(['outcome', 'error']).where('run_id', '=', ids.stop).executeTakeFirstOrThrow();
  expect(row.outcome).toBe('lost');
  expect(row.error).toMatch(/silent past the job's disconnect.after/);
});
