// Offers have a deadline: an agent that never takes one up loses it back to the queue, while
// an agent that holds the run (and says so in its heartbeats) keeps it even if its `started`
// report is late. A stand-in agent on the real bus plays both parts.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ServiceBroker } from 'moleculer';
import { ACTIONS, PROTOCOL_VERSION, SERVICES, createBroker, type OfferRequest, type OfferResponse, type RunOffer } from '@drover/shared';
import { useCluster, waitFor, type Run } from './support/index.js';

const cluster = useCluster({ coordinatorArgs: ['--offer-timeout', '1s', '--reconcile-interval', '300ms'] });
const { client } = cluster;
let broker: ServiceBroker;
const offers: RunOffer[] = [];
const capacity = { slots: 2, cpu: 2, memoryBytes: 2 ** 30 };

beforeAll(async () => {
  const { env } = cluster;
  broker = createBroker({ natsUrl: env.natsUrl, cluster: env.namespace, nodeId: 'agent-slow' });
  broker.createService({
    name: SERVICES.agent,
    actions: {
      offer: (ctx: { params: OfferRequest }): OfferResponse => {
        offers.push(...ctx.params.offers);
        return {
          accepted: ctx.params.offers.map((o) => o.runId),
          refused: [],
          capacity: { agentId: 'slow', version: offers.length, free: capacity },
        };
      },
      stop: () => ({}),
    },
  });
  await broker.start();
  await broker.waitForServices([SERVICES.fleet]);
  await broker.call(ACTIONS.register, {
    protocol: PROTOCOL_VERSION,
    agentId: 'slow',
    nodeId: 'agent-slow',
    name: 'slow',
    version: 'test',
    attributes: { 'label.role': 'slow' },
    labels: { role: 'slow' },
    executors: ['noop'],
    total: capacity,
    free: capacity,
    runs: [],
  });
});
afterAll(async () => {
  await broker?.stop();
});

it('takes an offer back from an agent that never took it up, and lets one that holds the run keep it', async () => {
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'slow',
      executor: { type: 'noop' },
      constraints: [{ attribute: 'label.role', operator: '=', value: 'slow' }],
    })
  ).body;
  const ignored = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`)).body.id;
  // Silent agent: the offer expires and the run is offered again (a new attempt).
  const back = await waitFor(
    async () => {
      const r = (await client.get<Run>(`/v1/runs/${ignored}`)).body;
      return r.transitions.some((t) => t.from === 'offered' && t.to === 'queued') ? r : undefined;
    },
    { description: 'the unanswered offer to be taken back' },
  );
  expect(back.transitions.find((t) => t.to === 'queued' && t.from === 'offered')?.reason).toContain('was not taken up');

  // Now the agent holds the newest attempt and says so every 300 ms, without reporting it started.
  const held = await waitFor(() => [...offers].reverse().find((o) => o.runId === ignored && o.token >= 2), {
    description: 'a second offer',
  });
  const beat = setInterval(() => {
    void broker.call(ACTIONS.heartbeat, {
      agentId: 'slow',
      nodeId: 'agent-slow',
      at: Date.now(),
      free: { ...capacity, slots: 1 },
      usage: { cpuPercent: 0, load1: 0, memoryUsedBytes: 0, slotsUsed: 1 },
      runs: [{ runId: held.runId, token: held.token }],
    });
  }, 300);
  try {
    await new Promise((r) => setTimeout(r, 3000)); // three offer deadlines
    const r = (await client.get<Run>(`/v1/runs/${ignored}`)).body;
    expect(r.state).toBe('offered');
    expect(r.attemptToken).toBe(held.token);
  } finally {
    clearInterval(beat);
  }
});
