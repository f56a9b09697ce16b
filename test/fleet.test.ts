// The dispatcher's view of an agent after the agent restarted: a stand-in agent (a Moleculer
// broker speaking the real protocol) fills its only slot, then comes back as a fresh process
// whose capacity counter starts again from zero.
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
const offers: RunOffer[] = [];
const total = { slots: 1, cpu: 1, memoryBytes: 2 ** 30 };
/** What the stand-in answers offers with: its free capacity and the version of that figure. */
let answer = { version: 7, free: { ...total, slots: 0 } };

function register(): RegisterRequest {
  return {
    protocol: PROTOCOL_VERSION,
    agentId: 'restarts',
    nodeId: 'agent-restarts',
    name: 'restarts',
    version: 'test',
    attributes: { os: 'linux', 'label.role': 'restarts' },
    labels: { role: 'restarts' },
    executors: ['noop'],
    total,
    free: total,
    runs: [],
  };
}

beforeAll(async () => {
  env = await createTestEnv();
  client = api((await startCoordinator(env)).url);
  broker = createBroker({ natsUrl: env.natsUrl, cluster: env.namespace, nodeId: 'agent-restarts' });
  broker.createService({
    name: SERVICES.agent,
    actions: {
      offer: {
        handler(ctx: { params: OfferRequest }): OfferResponse {
          offers.push(...ctx.params.offers);
          return { accepted: ctx.params.offers.map((o) => o.runId), refused: [], capacity: { agentId: 'restarts', ...answer } };
        },
      },
      stop: { handler: () => ({}) },
    },
  });
  await broker.start();
  await broker.waitForServices([SERVICES.fleet, SERVICES.runs]);
  await broker.call(ACTIONS.register, register());
});
afterAll(async () => {
  await broker?.stop();
  await env?.cleanup();
});

it('offers runs to an agent that restarted with its slots free again', async () => {
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'on-restarts',
      executor: { type: 'noop' },
      constraints: [{ attribute: 'label.role', operator: '=', value: 'restarts' }],
    })
  ).body;
  const first = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`)).body.id;
  await waitFor(() => offers.find((o) => o.runId === first), { description: 'the first offer' });

  // The agent process dies with its slot full and starts again at once (too soon to be marked
  // down): it registers with everything free, and its capacity versions start again from 0.
  answer = { version: 0, free: total };
  await broker.call(ACTIONS.register, register());
  const second = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`)).body.id;
  await waitFor(() => offers.find((o) => o.runId === second), { description: 'an offer to the restarted agent', timeoutMs: 8000 });
  expect(offers.map((o) => o.runId)).toEqual([first, second]);
});
