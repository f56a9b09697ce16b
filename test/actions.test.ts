// Actions on run events, run by real coordinators on real PostgreSQL, Redis and NATS. Most
// cases record an action run directly in the database, as the code that applies a run's
// events does, and watch what the action runner makes of it: webhooks reach a server started
// here (retried until it answers 2xx, given up after the last try), trigger_job starts the
// other job once however often it is tried, skip_next turns the next fire into a skipped run.
// The last case goes through a real agent: a run that succeeds starts the job its action names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { pino } from 'pino';
import { ulid } from 'ulid';
import { compileCoordinatorOptions, startCoordinator as startCoordinatorInProcess, type CoordinatorHandle } from '@drover/coordinator';
import {
  api,
  createTestEnv,
  runHelpers,
  startAgent,
  startReceiver,
  waitFor,
  type ApiClient,
  type Run,
  type TestEnv,
} from './support/index.js';

interface ActionRun {
  id: string;
  runId: string;
  jobId: string;
  trigger: string;
  type: string;
  spec: Record<string, unknown>;
  state: 'pending' | 'succeeded' | 'failed';
  tries: number;
  nextAt: string | null;
  lastError: string | null;
  lastStatus: number | null;
  result: Record<string, string> | null;
  createdAt: string;
  finishedAt: string | null;
}
interface Page<T> {
  items: T[];
  total: number;
  nextCursor: string | null;
}

/** Fast retries, so giving up after the last try takes a second, not minutes. */
const TUNING = { actions: { pollMs: 200, maxTries: 3, backoffBaseMs: 200, backoffMaxMs: 1000 } };

let env: TestEnv;
let db: pg.Client;
let client: ApiClient;

async function startCoordinator(name: string): Promise<CoordinatorHandle> {
  const opts = compileCoordinatorOptions({
    env: {
      DROVER_DATABASE_URL: env.databaseUrl,
      DROVER_REDIS_URL: env.redisUrl,
      DROVER_REDIS_PREFIX: env.redisPrefix,
      DROVER_NATS_URL: env.natsUrl,
      DROVER_CLUSTER: env.namespace,
      DROVER_API_ADDR: '127.0.0.1:0',
      DROVER_NODE_ID: name,
      // Actions, not authentication, are under test here.
      DROVER_INSECURE: 'true',
      // The receivers listen on 127.0.0.1 (test/webhook-policy.test.ts tests the default, which refuses it).
      DROVER_WEBHOOK_ALLOW: '127.0.0.1',
    },
  });
  const handle = await startCoordinatorInProcess(opts, pino({ level: 'silent' }), TUNING);
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= handle.stop());
  env.onCleanup(stop);
  return { ...handle, stop };
}

beforeAll(async () => {
  env = await createTestEnv();
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  env.onCleanup(() => db.end());
  client = api((await startCoordinator('coordinator-a')).url);
});
afterAll(async () => env?.cleanup());

const receiver = (answer: (n: number) => number | Promise<number>) => startReceiver(env, answer);

const { createJob } = runHelpers(() => client);

/** A finished run of the job, as if an agent had run it. */
async function finishedRun(jobId: string, state: string, fields: { parameters?: Record<string, string>; exitCode?: number } = {}) {
  const id = ulid();
  await db.query(
    `INSERT INTO runs (id, job_id, state, priority, trigger, parameters, attempt, attempt_token, exit_code, created_at, finished_at)
     VALUES ($1, $2, $3, 50, 'manual', $4, 1, 1, $5, now(), now())`,
    [id, jobId, state, JSON.stringify(fields.parameters ?? {}), fields.exitCode ?? (state === 'succeeded' ? 0 : 1)],
  );
  return id;
}

let actionIndex = 0;
/** Records `count` action runs in one statement, as the event-applying code does: pending, due now. */
async function recordActions(runId: string, jobId: string, spec: Record<string, unknown>, count: number): Promise<string[]> {
  const res = await db.query<{ id: string }>(
    `INSERT INTO action_runs (run_id, job_id, attempt, trigger, action_index, spec, next_at, created_at)
     SELECT $1, $2, 1, $3, $4 + i, $5, now(), now() FROM generate_series(0, $6 - 1) AS i RETURNING id::text`,
    [runId, jobId, spec.trigger, actionIndex, JSON.stringify(spec), count],
  );
  actionIndex += count;
  return res.rows.map((r) => r.id);
}

async function recordAction(runId: string, jobId: string, spec: Record<string, unknown>): Promise<string> {
  return (await recordActions(runId, jobId, spec, 1))[0]!;
}

async function actionsOf(runId: string): Promise<ActionRun[]> {
  const res = await client.get<{ items: ActionRun[] }>(`/v1/runs/${runId}/actions`);
  expect(res.status).toBe(200);
  return res.body.items;
}

/** The run's only action once it is over (succeeded or failed). */
async function settled(runId: string, timeoutMs = 20_000): Promise<ActionRun> {
  return waitFor(
    async () => {
      const [a] = await actionsOf(runId);
      return a && a.state !== 'pending' ? a : undefined;
    },
    { timeoutMs, description: `the action of run ${runId} to finish` },
  );
}

describe('webhook', () => {
  it('POSTs the event, the run as the API shows it, the job and the attempt, with the configured headers', async () => {
    const hook = await receiver(() => 200);
    const jobId = await createJob({ name: 'hooked', executor: { type: 'noop' } });
    const runId = await finishedRun(jobId, 'succeeded', { parameters: { day: 'monday' } });
    const id = await recordAction(runId, jobId, {
      trigger: 'on_success',
      type: 'webhook',
      url: hook.url,
      headers: { authorization: 'Bearer secret' },
    });
    const action = await settled(runId);
    expect(action).toMatchObject({ id, state: 'succeeded', tries: 1, lastStatus: 200, lastError: null, nextAt: null, type: 'webhook' });
    expect(action.finishedAt).not.toBeNull();
    // The action as defined, without the header's value.
    expect(action.spec).toMatchObject({ url: hook.url, headers: { authorization: '(hidden)' } });

    expect(hook.requests).toHaveLength(1);
    const [req] = hook.requests;
    expect(req?.headers.authorization).toBe('Bearer secret');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['drover-action-id']).toBe(id);
    const apiRun = (await client.get<Record<string, unknown>>(`/v1/runs/${runId}`)).body;
    // The run itself; its attempts, transitions and rejected events are there to read from the API.
    const { transitions: _transitions, attempts: _attempts, rejectedEvents: _rejected, ...runAsShown } = apiRun;
    expect(req?.body).toEqual({
      event: 'on_success',
      run: runAsShown,
      job: { id: jobId, name: 'hooked' },
      attempt: 1,
      // The run was written by hand here, without an attempt record.
      attemptRecord: null,
      at: action.createdAt,
    });
  });

  it('is tried again after a refusal, with the refusal recorded, until the receiver answers 2xx', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    // The first try is refused; the second waits until the test has seen the first recorded.
    const hook = await receiver(async (n) => (n === 1 ? 503 : released.then(() => 200)));
    const jobId = await createJob({ name: 'flaky-receiver', executor: { type: 'noop' } });
    const runId = await finishedRun(jobId, 'failed');
    await recordAction(runId, jobId, { trigger: 'on_failure', type: 'webhook', url: hook.url });

    await waitFor(() => (hook.requests.length === 2 ? true : undefined), { description: 'the second try' });
    const [between] = await actionsOf(runId);
    expect(between).toMatchObject({ state: 'pending', tries: 2, lastStatus: 503 });
    expect(between?.lastError).toContain('HTTP 503');
    release();

    const action = await settled(runId);
    expect(action).toMatchObject({ state: 'succeeded', tries: 2, lastStatus: 200, lastError: null });
    expect(hook.requests[1]?.headers['drover-action-id']).toBe(hook.requests[0]?.headers['drover-action-id']);
  });

  it('sends a Slack message naming the job, run, event, state and exit code', async () => {
    const hook = await receiver(() => 200);
    const jobId = await createJob({ name: 'slack-report', executor: { type: 'noop' } });
    const runId = await finishedRun(jobId, 'failed', { exitCode: 3 });
    await recordAction(runId, jobId, { trigger: 'on_failure', type: 'webhook', url: hook.url, format: 'slack' });
    expect((await settled(runId)).state).toBe('succeeded');
    const body = hook.requests[0]?.body as { text: string; blocks: unknown[] };
    expect(body.text).toBe(`:x: Job slack-report failed (run ${runId}, failed: exit code 3)`);
    expect(JSON.stringify(body.blocks)).toContain(runId);
    expect(body.blocks.length).toBeGreaterThanOrEqual(3);
  });

  it('ends failed after the last try when the receiver keeps refusing, and operators can list it', async () => {
    const hook = await receiver(() => 500);
    const jobId = await createJob({ name: 'broken-receiver', executor: { type: 'noop' } });
    const runId = await finishedRun(jobId, 'failed');
    const id = await recordAction(runId, jobId, { trigger: 'on_failure', type: 'webhook', url: hook.url });
    const action = await settled(runId);
    expect(action).toMatchObject({ state: 'failed', tries: 3, lastStatus: 500, nextAt: null });
    // The status and its standard reason; never the receiver's own words ("try again").
    expect(action.lastError).toMatch(/^gave up after 3 tries: POST .* HTTP 500 Internal Server Error$/);
    expect(hook.requests).toHaveLength(3);

    const failed = (await client.get<Page<ActionRun>>('/v1/actions?state=failed&job=broken-receiver')).body;
    expect(failed.items.map((a) => a.id)).toEqual([id]);
    expect(failed.total).toBe(1);
    const bad = await client.get<{ status: number; errors: Array<{ field: string }> }>('/v1/actions?state=done');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(bad.body.errors[0]?.field).toBe('state');
  });

  it('is delivered once per action with two coordinators claiming at the same time', async () => {
    const other = await startCoordinator('coordinator-b');
    const hook = await receiver(() => 200);
    const jobId = await createJob({ name: 'many-hooks', executor: { type: 'noop' } });
    const runId = await finishedRun(jobId, 'succeeded');
    const ids = await recordActions(runId, jobId, { trigger: 'on_success', type: 'webhook', url: hook.url }, 40);
    await waitFor(async () => ((await actionsOf(runId)).every((a) => a.state === 'succeeded') ? true : undefined), {
      description: 'every action to be delivered',
    });
    const delivered = hook.requests.map((r) => r.headers['drover-action-id']).sort();
    expect(delivered).toEqual([...ids].sort());
    expect((await actionsOf(runId)).every((a) => a.tries === 1)).toBe(true);
    await other.stop();
  });
});

describe('a coordinator that dies mid-action', () => {
  it('leaves its claim until the lease is over; then another coordinator tries again', async () => {
    const hook = await receiver(() => 200);
    const jobId = await createJob({ name: 'orphaned-hooks', executor: { type: 'noop' } });
    const runId = await finishedRun(jobId, 'succeeded');
    // Both were claimed once by a coordinator that died: one lease runs another minute, one is
    // over. One transaction, so no runner sees them before they look claimed.
    await db.query('BEGIN');
    const [held, expired] = (await recordActions(runId, jobId, { trigger: 'on_success', type: 'webhook', url: hook.url }, 2)) as [
      string,
      string,
    ];
    await db.query(`UPDATE action_runs SET tries = 1, next_at = now() + interval '60 seconds' WHERE id = $1`, [held]);
    await db.query(`UPDATE action_runs SET tries = 1, next_at = now() - interval '1 second' WHERE id = $1`, [expired]);
    await db.query('COMMIT');
    await waitFor(() => (hook.requests.length > 0 ? true : undefined), { description: 'the expired claim to be retried' });
    await new Promise((r) => setTimeout(r, 1000));
    const byId = new Map((await actionsOf(runId)).map((a) => [a.id, a]));
    expect(byId.get(expired)).toMatchObject({ state: 'succeeded', tries: 2 });
    expect(byId.get(held)).toMatchObject({ state: 'pending', tries: 1 });
    expect(hook.requests.map((r) => r.headers['drover-action-id'])).toEqual([expired]);
  });
});

describe('trigger_job', () => {
  it('starts the other job with the rendered parameters, once however often the action is tried', async () => {
    const sourceJob = await createJob({ name: 'nightly', executor: { type: 'noop' } });
    const targetJob = await createJob({ name: 'follow-up', executor: { type: 'noop' } });
    const runId = await finishedRun(sourceJob, 'succeeded', { parameters: { day: 'monday' } });
    await recordAction(runId, sourceJob, {
      trigger: 'on_success',
      type: 'trigger_job',
      job: 'follow-up',
      parameters: { day: '{{ param.day }}', source: '{{ job.name }}/{{ run.id }}' },
    });
    const action = await settled(runId);
    expect(action.state).toBe('succeeded');
    const started = action.result?.runId as string;
    const run = (await client.get<Run>(`/v1/runs/${started}`)).body;
    expect(run).toMatchObject({ jobId: targetJob, trigger: 'action', parameters: { day: 'monday', source: `nightly/${runId}` } });

    // A coordinator that died after starting the run but before recording it: the action is tried again.
    await db.query(`UPDATE action_runs SET state = 'pending', finished_at = NULL, next_at = now() WHERE id = $1`, [action.id]);
    const again = await waitFor(
      async () => {
        const [a] = await actionsOf(runId);
        return a?.state === 'succeeded' && a.tries === 2 ? a : undefined;
      },
      { description: 'the second try' },
    );
    expect(again.result?.runId).toBe(started);
    expect((await client.get<Page<Run>>('/v1/runs?job=follow-up')).body.total).toBe(1);
  });

  it('fails at once, naming it, when the job does not exist', async () => {
    const jobId = await createJob({ name: 'points-nowhere', executor: { type: 'noop' } });
    const runId = await finishedRun(jobId, 'succeeded');
    await recordAction(runId, jobId, { trigger: 'on_success', type: 'trigger_job', job: 'no-such-job' });
    const action = await settled(runId);
    expect(action).toMatchObject({ state: 'failed', tries: 1 });
    expect(action.lastError).toContain('"no-such-job"');
  });
});

describe('skip_next', () => {
  it("makes the job's next scheduled fire a skipped run naming the run whose action asked", async () => {
    const jobId = await createJob({ name: 'every-2s', executor: { type: 'noop' }, schedule: { every: '2s' } });
    const runId = await finishedRun(jobId, 'failed');
    await recordAction(runId, jobId, { trigger: 'on_failure', type: 'skip_next' });
    const action = await settled(runId);
    expect(action.state).toBe('succeeded');
    const after = Date.parse(action.result?.skipNextAfter ?? '');
    // The fires at or after the mark: the first is skipped, the next one runs.
    const fires = await waitFor(
      async () => {
        const runs = (await client.get<Page<Run>>(`/v1/runs?job=${jobId}`)).body.items
          .filter((r) => r.fireAt !== null && Date.parse(r.fireAt) >= after)
          .sort((a, b) => Date.parse(a.fireAt!) - Date.parse(b.fireAt!));
        return runs.length >= 2 ? runs : undefined;
      },
      { timeoutMs: 15_000, description: 'two fires after the mark' },
    );
    await client.post(`/v1/jobs/${jobId}/pause`);
    expect(fires[0]).toMatchObject({ state: 'skipped', skipReason: `skipped by the skip_next action of run ${runId}` });
    expect(fires[1]?.state).not.toBe('skipped');
    const mark = await db.query(`SELECT skip_next_after FROM schedule_state WHERE job_id = $1`, [jobId]);
    expect(mark.rows[0]?.skip_next_after).toBeNull();
  });

  it('fails with a clear message for a job without a schedule', async () => {
    const jobId = await createJob({ name: 'unscheduled', executor: { type: 'noop' } });
    const runId = await finishedRun(jobId, 'failed');
    await recordAction(runId, jobId, { trigger: 'on_failure', type: 'skip_next' });
    const action = await settled(runId);
    expect(action).toMatchObject({
      state: 'failed',
      tries: 1,
      lastError: 'job unscheduled has no schedule: skip_next has no fire to skip',
    });
  });
});

describe('the API', () => {
  it('answers 404 for the actions of an unknown run', async () => {
    const res = await client.get<{ detail: string }>('/v1/runs/nope/actions');
    expect(res.status).toBe(404);
    expect(res.body.detail).toContain('nope');
  });

  it('documents both endpoints in the OpenAPI document', async () => {
    const doc = (await client.get<{ paths: Record<string, Record<string, unknown>> }>('/openapi.json')).body;
    expect(doc.paths['/v1/actions']?.get).toBeDefined();
    expect(doc.paths['/v1/runs/{id}/actions']?.get).toBeDefined();
  });

  it('pages through action runs, newest first', async () => {
    const first = (await client.get<Page<ActionRun>>('/v1/actions?limit=2')).body;
    expect(first.items).toHaveLength(2);
    expect(Number(first.items[0]?.id)).toBeGreaterThan(Number(first.items[1]?.id));
    const next = (await client.get<Page<ActionRun>>(`/v1/actions?limit=2&cursor=${first.nextCursor}`)).body;
    expect(Number(next.items[0]?.id)).toBeLessThan(Number(first.items[1]?.id));
  });
});

describe('end to end, on a real agent', () => {
  it('a run that succeeds starts the job its on_success action names, with the rendered parameters', async () => {
    await startAgent(env, { slots: 2 });
    await createJob({ name: 'second', executor: { type: 'exec', command: ['echo', 'second {{ param.day }}'] } });
    const first = await createJob({
      name: 'first',
      executor: { type: 'exec', command: ['echo', 'first {{ param.day }}'] },
      actions: [{ trigger: 'on_success', type: 'trigger_job', job: 'second', parameters: { day: '{{ param.day }}' } }],
    });
    const trig = await client.post<{ id: string }>(`/v1/jobs/${first}/runs`, { parameters: { day: 'monday' } });
    expect(trig.status).toBe(201);
    const action = await settled(trig.body.id, 30_000);
    expect(action).toMatchObject({ trigger: 'on_success', type: 'trigger_job', state: 'succeeded' });
    const second = await waitFor(
      async () => {
        const r = (await client.get<Run>(`/v1/runs/${action.result?.runId}`)).body;
        return r.state === 'succeeded' ? r : undefined;
      },
      { description: 'the second run to succeed' },
    );
    expect(second).toMatchObject({ trigger: 'action', parameters: { day: 'monday' } });
    const logs = (await client.get<{ items: Array<{ data: string }> }>(`/v1/runs/${second.id}/logs`)).body.items;
    expect(logs.map((l) => l.data).join('')).toContain('second monday');
  });
});
