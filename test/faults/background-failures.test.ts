// The background loops of a coordinator and an agent (lease renewal, reconcile sweep, fleet
// refresh, scheduler, dispatcher, limit sweep, action runner, heartbeats, the outbox) fail:
// first by a fault injected into the first turns of each (DROVER_FAULTS), then by losing what
// they depend on in turn: NATS, then Redis, then PostgreSQL. Neither process dies, each loop
// logs its failure and goes on, and every run executes exactly once. NATS and Redis are private
// servers here; PostgreSQL is locked out for this test's database only.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import {
  api,
  createTestEnv,
  freePort,
  readMarks,
  runHelpers,
  sleep,
  startAgent,
  startCoordinator,
  startPrivateNats,
  startPrivateRedis,
  type DroverProcess,
  type TestEnv,
} from '../support/index.js';

let env: TestEnv;
let admin: pg.Client;
let database: string;

beforeAll(async () => {
  env = await createTestEnv();
  const url = new URL(env.databaseUrl);
  database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
});
afterAll(async () => {
  await admin?.query(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
  await admin?.end();
  await env?.cleanup();
});

/** The kinds of failure a process logged (first of each kind at once, then rate-limited), and those it recovered from. */
function failuresOf(p: DroverProcess): { failed: string[]; recovered: string[] } {
  const kinds = (msg: RegExp) => [...new Set(p.lines.filter((l) => msg.test(String(l.json?.msg))).map((l) => String(l.json?.kind)))].sort();
  return { failed: kinds(/failed; it goes on at its next turn$/), recovered: kinds(/works again$/) };
}

it('survives failures injected into every background loop, and recovers', { timeout: 120_000 }, async () => {
  // The first two turns of every background task throw.
  const faults = { DROVER_FAULTS: '*=2' };
  const marks = join(mkdtempSync(join(tmpdir(), 'drover-faults-')), 'marks');
  const coordinator = await startCoordinator(env, ['--reconcile-interval', '1s'], { env: faults });
  const agent = await startAgent(env, { slots: 2, env: faults });
  const h = runHelpers(api(coordinator.url));
  const job = await h.createJob({
    name: 'through-injected-faults',
    executor: { type: 'exec', command: ['sh', '-c', `echo "$DROVER_RUN_ID $DROVER_ATTEMPT" >> ${marks}`] },
  });
  const runs = [await h.trigger(job), await h.trigger(job), await h.trigger(job)];
  for (const id of runs) expect((await h.waitForRun(id, undefined, 60_000)).state).toBe('succeeded');
  await sleep(3_000); // every loop has turned a few times since

  expect(coordinator.proc.exitStatus).toBeUndefined();
  expect(agent.proc.exitStatus).toBeUndefined();
  const executions = readMarks(marks).sort();
  expect(executions).toEqual(runs.map((id) => `${id} 1`).sort());
  const c = failuresOf(coordinator.proc);
  const loops = ['claiming due actions', 'dispatch pass', 'dispatcher lease renewal', 'limit sweep', 'reconcile sweep', 'scheduler tick'];
  // A fleet refresh fails inside the reconcile sweep or on its own (a fleet-changed event), whichever comes first.
  expect(c.failed).toEqual(expect.arrayContaining(loops));
  expect(c.recovered).toEqual(expect.arrayContaining(loops));
  expect(failuresOf(agent.proc).failed).toContain('heartbeat');
  const outbox = agent.proc.lines.filter((l) => /fault injected into outbox send/.test(String(l.json?.err)));
  expect(outbox.length).toBeGreaterThan(0);
  console.log(
    `injected faults: runs ${runs.length}, executions ${executions.length}; coordinator failed ${c.failed.join(', ')}; ` +
      `recovered ${c.recovered.join(', ')}; agent failed ${failuresOf(agent.proc).failed.join(', ')}, outbox send x${outbox.length}`,
  );
});

it('keeps coordinator and agent running through NATS, Redis and PostgreSQL outages', { timeout: 240_000 }, async () => {
  const natsPort = await freePort();
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  let nats = await startPrivateNats(env, natsPort);
  const redis = await startPrivateRedis(env);
  const marks = join(mkdtempSync(join(tmpdir(), 'drover-background-')), 'marks');
  const coordinator = await startCoordinator(env, ['--nats', natsUrl, '--redis-url', redis.url, '--reconcile-interval', '1s']);
  const agent = await startAgent(env, { slots: 2, extraArgs: ['--nats', natsUrl] });
  const client = api(coordinator.url);
  const h = runHelpers(client);
  const job = await h.createJob({
    name: 'through-every-outage',
    executor: { type: 'exec', command: ['sh', '-c', `echo "$DROVER_RUN_ID $DROVER_ATTEMPT" >> ${marks}`] },
  });
  const runs: string[] = [];
  const runToSuccess = async (id?: string) => {
    const runId = id ?? (await h.trigger(job));
    if (!id) runs.push(runId);
    expect((await h.waitForRun(runId, undefined, 60_000)).state).toBe('succeeded');
  };
  await runToSuccess();

  // NATS away: the API still creates a run (its broadcast fails), which runs once NATS is back.
  await nats.kill();
  const duringNats = await h.trigger(job);
  runs.push(duringNats);
  await sleep(6_000);
  nats = await startPrivateNats(env, natsPort);
  await runToSuccess(duringNats);
  await runToSuccess();

  // Redis away: the run is queued in PostgreSQL and enqueued by the reconciler afterwards; a
  // run cancelled meanwhile is cancelled (its queue entry is the reconciler's to drop) and never runs.
  await redis.kill();
  const duringRedis = await h.trigger(job);
  runs.push(duringRedis);
  const cancelled = await h.trigger(job);
  const cancel = await client.post(`/v1/runs/${cancelled}/cancel`);
  expect(cancel.status, JSON.stringify(cancel.body)).toBeLessThan(300);
  expect((await h.getRun(cancelled)).state).toBe('cancelled');
  await sleep(8_000);
  await redis.start();
  await runToSuccess(duringRedis);
  await runToSuccess();

  // PostgreSQL away: this database refuses connections and its sessions are ended.
  await admin.query(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS false`);
  await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [database]);
  await sleep(8_000);
  await admin.query(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS true`);
  await runToSuccess();

  expect(coordinator.proc.exitStatus).toBeUndefined();
  expect(agent.proc.exitStatus).toBeUndefined();
  const executions = readMarks(marks).sort();
  expect(executions).toEqual(runs.map((id) => `${id} 1`).sort());
  console.log(
    `outages: runs ${runs.length}, executions ${executions.length}; coordinator loops that failed and went on: ` +
      `${failuresOf(coordinator.proc).failed.join(', ')}; agent: ${failuresOf(agent.proc).failed.join(', ') || 'none'}`,
  );
});
