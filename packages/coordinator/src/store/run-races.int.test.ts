// Races around an attempt's end, against real PostgreSQL and against embedded PostgreSQL
// (PGlite, which `drover dev` uses: the store must behave the same on both): a cancel that lands while a failure,
// a lost agent or a drain deadline is being applied must win; a retry by hand makes later
// events new ones for the actions; output of an offer handed back never collides with the next
// attempt's. Each case sets the race up by hand, at the exact point where it used to go wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ulid } from 'ulid';
import { compileRetryPolicy, PROTOCOL_VERSION, type AgentEvent, type JobDefinition, type RetryPolicy } from '@drover/shared';
import { createTestEnv, type TestEnv } from '../../../../test/support/index.js';
import { finishedEvent } from '../../../../test/support/events.js';
import { openDatabase, type Db } from './db.js';
import { insertJob } from './jobs.js';
import { runsToStop, setAgentState, upsertAgent } from './agents.js';
import { applyAgentEvents } from './apply-events.js';
import { loseRunsOfDownAgents } from './lose-runs.js';
import { takeBackFromDrainedAgents } from './drain.js';
import { requeueFinishedRuns } from './retry-runs.js';
import { expireQueuedRuns } from './run-limits.js';
import { markOffered, returnToQueue } from './offer-runs.js';
import { migrateToLatest } from './migrator.js';

let env: TestEnv;
let db: Db;

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.cleanup());

const capacity = { slots: 4, cpu: 4, memoryBytes: 1 << 30 };

async function agent(): Promise<string> {
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
  return agentId;
}

async function job(extra: Partial<JobDefinition> = {}): Promise<{ id: string; policy: RetryPolicy }> {
  const def: JobDefinition = { name: `job-${ulid().toLowerCase()}`, executor: { type: 'exec', command: ['false'] }, ...extra };
  const j = await insertJob(db, ulid(), def);
  return { id: j.id, policy: compileRetryPolicy(def.retry) };
}

/** A run of `jobId` running on `agentId` as attempt 1, token 1. */
async function runningRun(jobId: string, agentId: string): Promise<string> {
  const id = ulid();
  await sql`
    INSERT INTO runs (id, job_id, state, priority, trigger, attempt, attempt_token, agent_id, created_at, queued_at, offered_at, started_at)
    VALUES (${id}, ${jobId}, 'running', 50, 'manual', 1, 1, ${agentId}, now(), now(), now(), now())`.execute(db);
  return id;
}

const failed = (runId: string, token = 1): AgentEvent =>
  finishedEvent(runId, token, { outcome: 'failed', error: 'exited with code 1', durationMs: 10 });

const requestCancel = (runId: string) => sql`UPDATE runs SET cancel_requested_at = now() WHERE id = ${runId}`.execute(db);

async function runState(runId: string) {
  const run = await db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
  const transitions = await db
    .selectFrom('run_transitions')
    .select(['from_state', 'to_state'])
    .where('run_id', '=', runId)
    .orderBy('id')
    .execute();
  const dead = await db.selectFrom('dead_letters').selectAll().where('run_id', '=', runId).execute();
  const attempts = await db.selectFrom('run_attempts').select(['attempt', 'outcome']).where('run_id', '=', runId).execute();
  return { run, path: transitions.map((t) => `${t.from_state}>${t.to_state}`), dead, attempts };
}

describe.each(['PostgreSQL', 'PGlite'])('on %s', (backend) => {
  beforeAll(async () => {
    if (backend === 'PostgreSQL') db = await openDatabase(env.databaseUrl, { poolSize: 2 });
    else {
      // A throwaway embedded database, opened first so that the migration shares it.
      db = await openDatabase('pglite:memory');
      await migrateToLatest('pglite:memory');
    }
  });
  afterAll(async () => db?.destroy());

  describe('a cancel racing the end of an attempt', () => {
    it('wins over a retry when it lands while the failure is being applied', async () => {
      const agentId = await agent();
      const { id: jobId, policy } = await job({ retry: { maxAttempts: 3 } });
      const runId = await runningRun(jobId, agentId);
      // The policy lookup happens after the run was read and before the guarded update: the
      // cancel commits exactly there.
      const res = await applyAgentEvents(db, agentId, [failed(runId)], async () => {
        await requestCancel(runId);
        return new Map([[jobId, policy]]);
      });
      expect(res.changed.get(runId)).toBe('cancelled');
      expect(res.retrying).toBe(0);
      const s = await runState(runId);
      expect(s.run.state).toBe('cancelled');
      expect(s.run.not_before).toBeNull();
      expect(s.path.slice(-2)).toEqual(['running>failed', 'failed>cancelled']);
      expect(s.dead).toEqual([]);
      expect(s.attempts).toEqual([{ attempt: 1, outcome: 'failed' }]);
    });

    it('ends a run lost with its agent `cancelled`, with the loss on record', async () => {
      const agentId = await agent();
      const { id: jobId, policy } = await job({ retry: { maxAttempts: 3 } });
      const runId = await runningRun(jobId, agentId);
      await requestCancel(runId);
      await sql`UPDATE agents SET state = 'down' WHERE id = ${agentId}`.execute(db);
      const lost = await loseRunsOfDownAgents(db, Date.now(), async () => new Map([[jobId, policy]]));
      expect(lost.runs.find((r) => r.runId === runId)?.requeued).toBe(false);
      const s = await runState(runId);
      expect(s.run.state).toBe('cancelled');
      expect(s.path.slice(-2)).toEqual(['running>lost', 'lost>cancelled']);
      expect(s.attempts).toEqual([{ attempt: 1, outcome: 'lost' }]);
    });

    it('ends a run `cancelled` rather than requeued when a drain deadline passes', async () => {
      const agentId = await agent();
      const { id: jobId } = await job();
      const runId = await runningRun(jobId, agentId);
      await requestCancel(runId);
      await setAgentState(db, agentId, 'drain', Date.now() - 1000);
      const taken = await takeBackFromDrainedAgents(db, Date.now());
      expect(taken.find((t) => t.runId === runId)?.requeued).toBe(false);
      expect((await runState(runId)).run.state).toBe('cancelled');
    });

    it('is repeated to the agent on every heartbeat until it has stopped the run', async () => {
      const agentId = await agent();
      const { id: jobId } = await job();
      const runId = await runningRun(jobId, agentId);
      expect(await runsToStop(db, agentId, [{ runId, token: 1 }])).toEqual([]);
      await requestCancel(runId);
      expect(await runsToStop(db, agentId, [{ runId, token: 1 }])).toEqual([{ runId, token: 1 }]);
    });
  });

  it('records the actions of an event that follows a retry by hand, even of the same kind', async () => {
    const agentId = await agent();
    const { id: jobId } = await job({
      maxQueueTime: '1s',
      actions: [{ trigger: 'on_failure', type: 'webhook', url: 'http://127.0.0.1:9/hook' }],
    });
    const runId = await runningRun(jobId, agentId);
    const first = await applyAgentEvents(db, agentId, [failed(runId)]);
    expect(first.actions).toBe(1);
    expect(await requeueFinishedRuns(db, [runId], Date.now(), 'retried by hand')).toHaveLength(1);
    await sql`UPDATE runs SET queued_at = now() - interval '1 minute' WHERE id = ${runId}`.execute(db);
    const expired = await expireQueuedRuns(db, Date.now());
    expect(expired.runs.map((r) => r.runId)).toContain(runId);
    const actions = await db
      .selectFrom('action_runs')
      .select(['trigger', 'attempt_token'])
      .where('run_id', '=', runId)
      .orderBy('id')
      .execute();
    expect(actions.map((a) => [a.trigger, Number(a.attempt_token)])).toEqual([
      ['on_failure', 1],
      ['on_failure', 2],
    ]);
  });

  it('drops the output of an offer handed back, so the next attempt with its number keeps its own', async () => {
    const agentId = await agent();
    const other = await agent();
    const { id: jobId } = await job();
    const runId = ulid();
    await sql`INSERT INTO runs (id, job_id, state, priority, trigger, created_at, queued_at) VALUES (${runId}, ${jobId}, 'queued', 50, 'manual', now(), now())`.execute(
      db,
    );
    const [offer] = await markOffered(db, [{ runId, agentId }], Date.now());
    expect(offer?.attempt).toBe(1);
    // The agent's output arrives while the run is still offered (its start report is late)…
    const log = (token: number, data: string): AgentEvent => ({
      kind: 'log',
      runId,
      token,
      seq: 0,
      stream: 'stdout',
      data,
      at: Date.now(),
    });
    await applyAgentEvents(db, agentId, [log(1, 'OLD\n')]);
    // …and the offer is handed back before the start is applied.
    expect(await returnToQueue(db, [{ runId, token: 1, reason: 'offer not taken up' }], Date.now())).toHaveLength(1);
    const [again] = await markOffered(db, [{ runId, agentId: other }], Date.now());
    expect(again).toMatchObject({ attempt: 1, token: 2 });
    await applyAgentEvents(db, other, [{ kind: 'started', runId, token: 2, at: Date.now() }, log(2, 'NEW\n')]);
    const logs = await db.selectFrom('run_logs').select(['attempt', 'data']).where('run_id', '=', runId).execute();
    expect(logs.map((l) => ({ attempt: l.attempt, data: Buffer.from(l.data).toString() }))).toEqual([{ attempt: 1, data: 'NEW\n' }]);
  });
});
