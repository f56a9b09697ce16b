// One clock per decision: a coordinator whose host clock is an hour off (libfaketime, Debian's
// `faketime`) next to PostgreSQL and an agent with the right time. It must still dispatch, take
// an unanswered offer back after the offer timeout (not at once, not never), fire a schedule
// on PostgreSQL's clock with each fire executed once, and accept the joined agent's signed
// messages (and the agent its answers). And the other way round: a joined agent an hour off
// takes the cluster's clock from the coordinator's refusal of its first message and works on.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { ServiceBroker } from 'moleculer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS, PROTOCOL_VERSION, SERVICES, createBroker, type OfferRequest, type OfferResponse } from '@drover/shared';
import {
  DROVER_BIN,
  api,
  createJoinToken,
  createTestEnv,
  markingExecutor,
  overlappingExecutions,
  readExecutions,
  runHelpers,
  spawnInEnv,
  startAgent,
  startCoordinator,
  waitFor,
  type ApiClient,
  type TestEnv,
} from '../support/index.js';

const OFFER_TIMEOUT_MS = 3000;

// .ci/run installs it; say so plainly on a machine without it rather than fail on a spawn error.
function requireFaketime(): void {
  const probe = spawnSync('faketime', ['-f', '+1h', 'true']);
  if (probe.error || probe.status !== 0)
    throw new Error(
      `this test needs Debian's faketime (libfaketime): apt-get install -y faketime (${probe.error?.message ?? `exit ${probe.status}`})`,
    );
}
const capacity = { slots: 2, cpu: 2, memoryBytes: 2 ** 30 };

describe.each(['+1h', '-1h'])('a coordinator whose clock is %s off', (skew) => {
  let env: TestEnv;
  let client: ApiClient;
  let db: pg.Client;
  let standIn: ServiceBroker;
  let beat: NodeJS.Timeout | undefined;
  let marks: string;
  const offers: Array<{ runId: string; token: number; at: number }> = [];

  beforeAll(async () => {
    requireFaketime();
    env = await createTestEnv();
    const dir = mkdtempSync(join(tmpdir(), 'drover-clock-'));
    env.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    marks = join(dir, 'marks');
    const proc = spawnInEnv(
      env,
      'faketime',
      [
        '-f',
        skew,
        process.execPath,
        DROVER_BIN,
        'coordinator',
        '--api-addr',
        '127.0.0.1:0',
        '--insecure',
        '--offer-timeout',
        `${OFFER_TIMEOUT_MS}ms`,
        '--reconcile-interval',
        '300ms',
        '--heartbeat-interval',
        '1s',
      ],
      { name: 'coordinator' },
    );
    const listening = await proc.waitForLog('api listening');
    client = api(String(listening.url).replace(/\/$/, ''));
    db = new pg.Client({ connectionString: env.databaseUrl });
    await db.connect();
    env.onCleanup(() => db.end());

    // A real agent with the right clock, joined: every message it sends is signed and checked.
    const joinToken = await createJoinToken(client);
    await startAgent(env, { labels: { role: 'real' }, slots: 4, env: { DROVER_JOIN_TOKEN: joinToken } });

    // A stand-in agent that accepts offers and then says nothing about them.
    standIn = createBroker({ natsUrl: env.natsUrl, cluster: env.namespace, nodeId: 'agent-silent', logLevel: 'error' });
    standIn.createService({
      name: SERVICES.agent,
      actions: {
        offer: (ctx: { params: OfferRequest }): OfferResponse => {
          for (const o of ctx.params.offers) offers.push({ runId: o.runId, token: o.token, at: Date.now() });
          return {
            accepted: ctx.params.offers.map((o) => o.runId),
            refused: [],
            capacity: { agentId: 'silent', version: offers.length, free: capacity },
          };
        },
        stop: () => ({}),
      },
    });
    await standIn.start();
    await standIn.waitForServices([SERVICES.fleet]);
    await standIn.call(ACTIONS.register, {
      protocol: PROTOCOL_VERSION,
      agentId: 'silent',
      nodeId: 'agent-silent',
      name: 'silent',
      version: 'test',
      attributes: { 'label.role': 'silent' },
      labels: { role: 'silent' },
      executors: ['noop'],
      total: capacity,
      free: capacity,
      runs: [],
    });
    // Alive, holding nothing: its offers are unanswered, not lost with a down agent.
    beat = setInterval(() => {
      standIn
        .call(ACTIONS.heartbeat, {
          agentId: 'silent',
          nodeId: 'agent-silent',
          at: Date.now(),
          free: capacity,
          usage: { cpuPercent: 0, load1: 0, memoryUsedBytes: 0, slotsUsed: 0 },
          runs: [],
        })
        .catch(() => undefined);
    }, 500);
  }, 90_000);

  afterAll(async () => {
    if (beat) clearInterval(beat);
    await standIn?.stop();
    await env?.cleanup();
  });

  it('dispatches to an agent with the right clock, which it accepts', { timeout: 60_000 }, async () => {
    const runs = runHelpers(client);
    const job = await runs.createJob({
      name: 'once',
      executor: markingExecutor(marks, 0),
      constraints: [{ attribute: 'label.role', operator: '=', value: 'real' }],
    });
    const run = await runs.waitForRun(await runs.trigger(job));
    expect(run.state).toBe('succeeded');
    expect(
      readExecutions(marks)
        .filter((e) => e.runId === run.id)
        .map((e) => e.attempt),
    ).toEqual([1]);
  });

  it('takes an unanswered offer back after the offer timeout, not before', { timeout: 60_000 }, async () => {
    const runs = runHelpers(client);
    const job = await runs.createJob({
      name: 'unanswered',
      executor: { type: 'noop' },
      constraints: [{ attribute: 'label.role', operator: '=', value: 'silent' }],
    });
    const runId = await runs.trigger(job);
    const first = await waitFor(() => offers.find((o) => o.runId === runId), { description: 'the first offer' });
    const again = await waitFor(() => offers.find((o) => o.runId === runId && o.token > first.token), {
      description: `the offer to be taken back and made again (offer timeout ${OFFER_TIMEOUT_MS} ms)`,
      timeoutMs: 20_000,
    });
    console.log(
      `clock ${skew}: unanswered offer taken back and offered again after ${again.at - first.at} ms (offer timeout ${OFFER_TIMEOUT_MS} ms)`,
    );
    // The sweep may add up to its interval, delivery may take some off; never much before the timeout.
    expect(again.at - first.at).toBeGreaterThanOrEqual(OFFER_TIMEOUT_MS - 500);
    await client.post(`/v1/runs/${runId}/cancel`);
  });

  it('fires a schedule on PostgreSQL’s clock, each fire executed once', { timeout: 60_000 }, async () => {
    const runs = runHelpers(client);
    const job = await runs.createJob({
      name: 'every-two-seconds',
      executor: markingExecutor(marks, 0),
      constraints: [{ attribute: 'label.role', operator: '=', value: 'real' }],
      schedule: { every: '2s' },
    });
    await sleep(12_000);
    await client.post(`/v1/jobs/${job}/pause`);
    const rows = (
      await db.query<{ id: string; fire: string; state: string; off: number }>(
        `SELECT id, extract(epoch FROM fire_at)::bigint::text AS fire, state, extract(epoch FROM (fire_at - now()))::float8 AS off
           FROM runs WHERE job_id = $1 ORDER BY fire_at`,
        [job],
      )
    ).rows;
    for (const r of rows) await runs.waitForRun(r.id);
    const fired = new Set(rows.map((r) => r.id));
    const executions = readExecutions(marks).filter((e) => fired.has(e.runId));
    console.log(
      `clock ${skew}: ${rows.length} fires, ${executions.length} executions, fire times ${Math.round(Math.min(...rows.map((r) => r.off)))}..${Math.round(Math.max(...rows.map((r) => r.off)))} s from PostgreSQL's now`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(3);
    // Each fire once, on PostgreSQL's clock (not an hour away from it).
    expect(new Set(rows.map((r) => r.fire)).size).toBe(rows.length);
    expect(rows.every((r) => Math.abs(r.off) < 60)).toBe(true);
    expect(executions.map((e) => e.runId).sort()).toEqual([...fired].sort());
    expect(executions.every((e) => e.attempt === 1)).toBe(true);
    expect(overlappingExecutions(executions)).toEqual([]);
  });
});

describe.each(['+1h', '-1h'])('a joined agent whose clock is %s off', (skew) => {
  let env: TestEnv;
  let client: ApiClient;
  let marks: string;
  let coordinatorLines: () => string[];
  let agentId: string;

  beforeAll(async () => {
    requireFaketime();
    env = await createTestEnv();
    const dir = mkdtempSync(join(tmpdir(), 'drover-clock-'));
    env.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    marks = join(dir, 'marks');
    const coordinator = await startCoordinator(env, ['--heartbeat-interval', '1s']);
    client = api(coordinator.url);
    coordinatorLines = () => coordinator.proc.lines.map((l) => l.text);
    const joinToken = await createJoinToken(client);
    const proc = spawnInEnv(
      env,
      'faketime',
      ['-f', skew, process.execPath, DROVER_BIN, 'agent', '--label', 'role=skewed', '--slots', '2', '--allow-same-user'],
      { name: 'agent', env: { DROVER_JOIN_TOKEN: joinToken } },
    );
    agentId = String((await proc.waitForLog('agent registered')).agentId);
  }, 90_000);

  afterAll(async () => {
    await env?.cleanup();
  });

  it('joins, runs what it is offered and has its heartbeats accepted', { timeout: 60_000 }, async () => {
    const runs = runHelpers(client);
    const job = await runs.createJob({
      name: 'on-a-skewed-agent',
      executor: markingExecutor(marks, 0),
      constraints: [{ attribute: 'label.role', operator: '=', value: 'skewed' }],
    });
    const run = await runs.waitForRun(await runs.trigger(job));
    expect(run.state).toBe('succeeded');
    expect(readExecutions(marks).map((e) => e.attempt)).toEqual([1]);
    // A failed attempt's retry waits its backoff on the cluster's clock: not at once, not an hour.
    const failing = await runs.createJob({
      name: 'retried-on-a-skewed-agent',
      executor: { type: 'exec', command: ['sh', '-c', `echo "try $DROVER_ATTEMPT $(date +%s%N)" >> '${marks}.tries'; exit 3`] },
      constraints: [{ attribute: 'label.role', operator: '=', value: 'skewed' }],
      retry: { maxAttempts: 2, backoff: 'fixed', initialDelay: '3s', jitter: 0 },
    });
    const startedAt = Date.now();
    const retried = await runs.waitForRun(await runs.trigger(failing), undefined, 30_000);
    const tookMs = Date.now() - startedAt;
    const tries = readFileSync(`${marks}.tries`, 'utf8').trim().split('\n');
    console.log(`clock ${skew} on the agent: ${tries.length} tries, the retry after a 3 s backoff ended ${tookMs} ms after the trigger`);
    expect(retried.state).toBe('failed');
    expect(tries.map((t) => t.split(' ')[1])).toEqual(['1', '2']);
    expect(tookMs).toBeGreaterThanOrEqual(2900);
    // Heartbeats every second for a while: none refused, the agent stays ready.
    await sleep(4000);
    const agent = (await client.get<{ state: string }>(`/v1/agents/${agentId}`)).body;
    const refused = coordinatorLines().filter((l) => l.includes('signature does not hold')).length;
    console.log(`clock ${skew} on the agent: state ${agent.state}, ${refused} messages refused for their signature`);
    expect(agent.state).toBe('ready');
    expect(refused).toBeLessThanOrEqual(1);
  });
});
