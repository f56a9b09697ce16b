// A registration a slow coordinator handles late — after the agent gave up on it (3 s) and
// registered with another — must neither lose runs started since nor bring back stale figures.
// A stand-in agent (a Moleculer broker speaking the real protocol) sends registrations dated
// by their `auth.ts`, as an agent's signature dates them on the cluster clock.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ServiceBroker } from 'moleculer';
import {
  ACTIONS,
  PROTOCOL_VERSION,
  SERVICES,
  createBroker,
  type OfferRequest,
  type OfferResponse,
  type RegisterRequest,
  type RunOffer,
} from '@drover/shared';
import { api, createTestEnv, startCoordinator, waitFor, type ApiClient, type TestEnv } from './support/index.js';

let env: TestEnv;
let client: ApiClient;
let broker: ServiceBroker;
let db: pg.Client;
const offers: RunOffer[] = [];
const total = { slots: 2, cpu: 2, memoryBytes: 2 ** 30 };

function register(sentAt: number, free = total, runs: RegisterRequest['runs'] = []): RegisterRequest {
  return {
    protocol: PROTOCOL_VERSION,
    agentId: 'late-reg',
    nodeId: 'agent-late-reg',
    name: 'late-reg',
    version: 'test',
    attributes: { os: 'linux', 'label.role': 'late-reg' },
    labels: { role: 'late-reg' },
    executors: ['noop'],
    total,
    free,
    runs,
    // The send time, as an agent's signature carries it (no key is known here, so it is not checked).
    auth: { agentId: 'late-reg', ts: sentAt, nonce: `n-${sentAt}-${Math.random()}`, sig: 'unchecked' },
  };
}

beforeAll(async () => {
  env = await createTestEnv();
  client = api((await startCoordinator(env)).url);
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  broker = createBroker({ natsUrl: env.natsUrl, cluster: env.namespace, nodeId: 'agent-late-reg' });
  broker.createService({
    name: SERVICES.agent,
    actions: {
      offer: {
        handler(ctx: { params: OfferRequest }): OfferResponse {
          offers.push(...ctx.params.offers);
          return {
            accepted: ctx.params.offers.map((o) => o.runId),
            refused: [],
            capacity: { agentId: 'late-reg', version: offers.length, free: { ...total, slots: 1 } },
          };
        },
      },
      stop: { handler: () => ({}) },
    },
  });
  await broker.start();
  await broker.waitForServices([SERVICES.fleet, SERVICES.runs]);
  await broker.call(ACTIONS.register, register(Date.now()));
});
afterAll(async () => {
  await broker?.stop();
  await db?.end();
  await env?.cleanup();
});

it('a registration sent before a run started does not lose that run', async () => {
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'on-late-reg',
      executor: { type: 'noop' },
      constraints: [{ attribute: 'label.role', operator: '=', value: 'late-reg' }],
    })
  ).body;
  const runId = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`)).body.id;
  await waitFor(() => offers.find((o) => o.runId === runId), { description: 'the offer' });
  // The run started 5 s ago (through another coordinator); the agent registered long before.
  await db.query(`UPDATE runs SET state = 'running', started_at = now() - interval '5 s' WHERE id = $1`, [runId]);
  await db.query(`UPDATE agents SET registered_at = now() - interval '60 s' WHERE id = 'late-reg'`);

  // The slow coordinator handles, only now, a registration the agent sent 10 s ago, before the run started.
  await broker.call(ACTIONS.register, register(Date.now() - 10_000));
  const run = (await client.get<{ state: string; attempt: number }>(`/v1/runs/${runId}`)).body;
  expect(run).toMatchObject({ state: 'running', attempt: 1 });
});

it('a registration sent before the agent registered again changes nothing', async () => {
  await broker.call(ACTIONS.register, register(Date.now(), { ...total, slots: 1 }));
  const before = (await db.query(`SELECT registered_at, free FROM agents WHERE id = 'late-reg'`)).rows[0];
  await broker.call(ACTIONS.register, register(Date.now() - 5_000, total));
  const after = (await db.query(`SELECT registered_at, free FROM agents WHERE id = 'late-reg'`)).rows[0];
  expect(after).toEqual(before);
  expect(after.free.slots).toBe(1);
});
