// Coordinator → agent authentication: an agent that joined pins the cluster's key, runs what
// the coordinators offer (signed with it), and refuses an offer or ignores a stop request from
// any other node on the bus, however it got there.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { ServiceBroker } from 'moleculer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ACTIONS, createBroker, type OfferRequest, type StopRequest } from '@drover/shared';
import {
  api,
  createJoinToken,
  createTestEnv,
  runHelpers,
  startAgent,
  startCoordinator,
  type ApiClient,
  type StartedAgent,
  type TestEnv,
} from './support/index.js';

let env: TestEnv;
let client: ApiClient;
let agent: StartedAgent;
let rogue: ServiceBroker;

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env);
  client = api(coordinator.url);
  const token = await createJoinToken(client);
  agent = await startAgent(env, { slots: 2, env: { DROVER_JOIN_TOKEN: token } });
  rogue = createBroker({ natsUrl: env.natsUrl, namespace: env.namespace, nodeId: 'rogue-coordinator', logLevel: 'error' });
  await rogue.start();
  await rogue.waitForServices(['drover.agent'], 20_000);
}, 60_000);

afterAll(async () => {
  await rogue?.stop();
  await env?.cleanup();
});

it('pins the cluster key at its join', async () => {
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  try {
    const key = (await db.query(`SELECT public_key FROM coordinator_keys WHERE id = 'cluster'`)).rows[0]?.public_key;
    const joined = JSON.parse(readFileSync(join(agent.stateDir, 'joined'), 'utf8')) as { coordinatorKey: string };
    expect(joined.coordinatorKey).toBe(key);
  } finally {
    await db.end();
  }
});

it('runs what the coordinators offer, refuses an offer from another node, and ignores its stop requests', async () => {
  const runs = runHelpers(client);
  const job = await runs.createJob({ name: 'signed-sleep', executor: { type: 'exec', command: ['sleep', '3'] } });
  const runId = await runs.trigger(job);
  const running = await runs.waitForRun(runId, (r) => r.state === 'running');
  const token = (running as unknown as { attemptToken: number }).attemptToken;

  const offer: OfferRequest = {
    offers: [
      {
        runId: '01JROGUE0000000000000000RN',
        jobId: job,
        jobName: 'signed-sleep',
        token: 1,
        attempt: 1,
        executor: { type: 'exec', command: ['touch', '/tmp/drover-rogue-was-here'] },
        resources: { cpu: 0, memoryBytes: 0 },
        timeoutMs: null,
        killGraceMs: 1000,
        logLimitBytes: 1024,
        parameters: {},
      },
    ],
  };
  await expect(rogue.call(ACTIONS.offer, offer, { nodeID: `agent-${agent.agentId}` })).rejects.toThrow(
    /not signed with the cluster's key \(missing\)/,
  );
  await agent.proc.waitForLog('refused an offer not signed with the cluster key');

  const stop: StopRequest = { runs: [{ runId, token }], reason: 'rogue' };
  expect(await rogue.call(ACTIONS.stop, stop, { nodeID: `agent-${agent.agentId}` })).toEqual({ ok: false });
  const done = await runs.waitForRun(runId);
  expect(done.state).toBe('succeeded');
}, 60_000);
