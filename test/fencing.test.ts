// Fencing from day one: a stand-in agent (a Moleculer broker on the same NATS namespace,
// speaking the real protocol) receives a real offer, then reports with stale and current
// attempt tokens. Stale messages are recorded and ignored; exactly one result is accepted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { ServiceBroker } from 'moleculer';
import {
  ACTIONS,
  PROTOCOL_VERSION,
  SERVICES,
  createBroker,
  type AgentEvent,
  type OfferRequest,
  type OfferResponse,
  type RegisterRequest,
  type ReportResponse,
  type RunOffer,
} from '@drover/shared';
import { api, createTestEnv, finishedEvent, startCoordinator, waitFor, type ApiClient, type TestEnv } from './support/index.js';

let env: TestEnv;
let client: ApiClient;
let broker: ServiceBroker;
let db: pg.Client;
const offers: RunOffer[] = [];
const capacity = { slots: 4, cpu: 2, memoryBytes: 2 ** 30 };
const heldOffers = Promise.withResolvers<void>();

function register(agentId: string, nodeId: string): RegisterRequest {
  return {
    protocol: PROTOCOL_VERSION,
    agentId,
    nodeId,
    name: agentId,
    version: 'test',
    attributes: { os: 'linux', 'label.role': 'fake' },
    labels: { role: 'fake' },
    executors: ['noop'],
    total: capacity,
    free: capacity,
    runs: [],
  };
}

async function report(agentId: string, events: AgentEvent[]): Promise<ReportResponse> {
  return broker.call(ACTIONS.report, { agentId, events });
}

beforeAll(async () => {
  env = await createTestEnv();
  client = api((await startCoordinator(env)).url);
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  broker = createBroker({ natsUrl: env.natsUrl, cluster: env.namespace, nodeId: 'agent-fake-1' });
  broker.createService({
    name: SERVICES.agent,
    actions: {
      offer: {
        async handler(ctx: { params: OfferRequest }): Promise<OfferResponse> {
          offers.push(...ctx.params.offers);
          // Offers of this job are answered only when the test says so, and refused.
          const held = ctx.params.offers.filter((o) => o.jobName === 'deleted-while-offered');
          if (held.length > 0) await heldOffers.promise;
          return {
            accepted: ctx.params.offers.filter((o) => !held.includes(o)).map((o) => o.runId),
            refused: held.map((o) => ({ runId: o.runId, reason: 'busy' })),
            capacity: { agentId: 'fake-1', version: offers.length, free: capacity },
          };
        },
      },
      stop: { handler: () => ({}) },
    },
  });
  await broker.start();
  await broker.waitForServices([SERVICES.fleet, SERVICES.runs]);
  await broker.call(ACTIONS.register, register('fake-1', 'agent-fake-1'));
});
afterAll(async () => {
  await broker?.stop();
  await db?.end();
  await env?.cleanup();
});

it('accepts one result per attempt and records every stale message', async () => {
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'fenced',
      executor: { type: 'noop' },
      constraints: [{ attribute: 'label.role', operator: '=', value: 'fake' }],
    })
  ).body;
  const runId = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`)).body.id;
  const offer = await waitFor(() => offers.find((o) => o.runId === runId), { description: 'the offer' });
  expect(offer.token).toBe(1);
  const t = offer.token;
  const at = Date.now();

  // A message quoting an older attempt is rejected, recorded, and the agent is told to stop.
  const stale = await report('fake-1', [{ kind: 'started', runId, token: t - 1, at }]);
  expect(stale.stale).toEqual([{ runId, token: t - 1 }]);
  expect((await client.get<{ state: string }>(`/v1/runs/${runId}`)).body.state).toBe('offered');

  // Another agent cannot report for a run it was not given.
  const intruder = await report('fake-2', [{ kind: 'started', runId, token: t, at }]);
  expect(intruder.stale).toEqual([{ runId, token: t }]);

  // The current attempt: start, a log chunk, a stale chunk, and the result.
  const ok = await report('fake-1', [
    { kind: 'started', runId, token: t, at },
    { kind: 'log', runId, token: t, seq: 0, stream: 'stdout', data: 'hello\n', at },
    { kind: 'log', runId, token: t - 1, seq: 1, stream: 'stdout', data: 'from the past\n', at },
    finishedEvent(runId, t, { at: at + 5, outcome: 'succeeded', durationMs: 5, cpuTimeMs: 1, peakMemoryBytes: 1024 }),
  ]);
  expect(ok.stale).toEqual([{ runId, token: t - 1 }]);

  // A resend of the same result (the ack was lost) is harmless and not a fencing event.
  const resend = await report('fake-1', [
    finishedEvent(runId, t, { at: at + 5, outcome: 'succeeded', durationMs: 5, cpuTimeMs: 1, peakMemoryBytes: 1024 }),
  ]);
  expect(resend.stale).toEqual([]);

  // A second, different result for the same attempt is not accepted.
  await report('fake-1', [
    finishedEvent(runId, t, { at: at + 9, outcome: 'failed', error: 'late', durationMs: 9, cpuTimeMs: 1, peakMemoryBytes: 1024 }),
  ]);

  const run = (await client.get<{ state: string; exitCode: number; transitions: Array<{ to: string }> }>(`/v1/runs/${runId}`)).body;
  expect(run.state).toBe('succeeded');
  expect(run.exitCode).toBe(0);
  expect(run.transitions.map((x) => x.to)).toEqual(['queued', 'offered', 'running', 'succeeded']);
  const logs = (await client.get<{ items: Array<{ data: string }> }>(`/v1/runs/${runId}/logs`)).body.items;
  expect(logs.map((l) => l.data)).toEqual(['hello\n']);

  const fenced = (
    await db.query(
      `SELECT agent_id, kind, token::int AS token, current_token::int AS current_token FROM fenced_messages WHERE run_id = $1 ORDER BY id`,
      [runId],
    )
  ).rows;
  expect(fenced).toEqual([
    { agent_id: 'fake-1', kind: 'started', token: t - 1, current_token: t },
    { agent_id: 'fake-2', kind: 'started', token: t, current_token: t },
    { agent_id: 'fake-1', kind: 'log', token: t - 1, current_token: t },
  ]);
});

it('accepts a result resent together with a start that was already applied (its ack was lost)', async () => {
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'resent',
      executor: { type: 'noop' },
      constraints: [{ attribute: 'label.role', operator: '=', value: 'fake' }],
    })
  ).body;
  const runId = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`)).body.id;
  const { token } = await waitFor(() => offers.find((o) => o.runId === runId), { description: 'the offer' });
  const at = Date.now();
  const started: AgentEvent = { kind: 'started', runId, token, at };
  // The first report is applied but its answer never reaches the agent ...
  expect((await report('fake-1', [started])).stale).toEqual([]);
  // ... so the outbox resends it, with what happened since, in one batch.
  const again = await report('fake-1', [
    started,
    finishedEvent(runId, token, { at: at + 3, outcome: 'failed', exitCode: 2, durationMs: 3, cpuTimeMs: 1, peakMemoryBytes: 1024 }),
  ]);
  expect(again.stale).toEqual([]);
  const run = (await client.get<{ state: string; exitCode: number; transitions: Array<{ to: string }> }>(`/v1/runs/${runId}`)).body;
  expect(run.state).toBe('failed');
  expect(run.exitCode).toBe(2);
  expect(run.transitions.map((x) => x.to)).toEqual(['queued', 'offered', 'running', 'failed']);
  expect((await db.query('SELECT count(*)::int AS n FROM fenced_messages WHERE run_id = $1', [runId])).rows[0].n).toBe(0);
});

it('cancels a run of a deleted job that came back to the queue after its offer was refused', async () => {
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'deleted-while-offered',
      executor: { type: 'noop' },
      constraints: [{ attribute: 'label.role', operator: '=', value: 'fake' }],
    })
  ).body;
  const runId = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`)).body.id;
  await waitFor(() => offers.find((o) => o.runId === runId), { description: 'the offer' });
  // Deleted while its run is offered: only queued runs are cancelled with it.
  expect((await client.del(`/v1/jobs/${job.id}`)).status).toBe(204);
  heldOffers.resolve();
  const run = await waitFor(
    async () => {
      const r = (await client.get<{ state: string; transitions: Array<{ to: string }> }>(`/v1/runs/${runId}`)).body;
      return r.state === 'cancelled' ? r : undefined;
    },
    { description: 'the run cancelled', timeoutMs: 5000 },
  );
  expect(run.transitions.map((x) => x.to)).toEqual(['queued', 'offered', 'queued', 'cancelled']);
});

it('refuses an agent that speaks another protocol version, saying so', async () => {
  await expect(broker.call(ACTIONS.register, { ...register('fake-9', 'agent-fake-1'), protocol: PROTOCOL_VERSION + 1 })).rejects.toThrow(
    new RegExp(`speaks Drover protocol ${PROTOCOL_VERSION}, the agent speaks ${PROTOCOL_VERSION + 1}`),
  );
});
