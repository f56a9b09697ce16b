// With API auth (so agents must have joined): when the coordinators no longer know an agent's
// key — a database restored from before its join, with a new cluster key — an agent that still
// has its join token joins again by itself, keeping its key and pinning the new cluster key.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createJoinToken, createTestEnv, runHelpers, startAgent, startCoordinator, type TestEnv } from './support/index.js';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
});

it('an agent whose key the coordinators lost joins again with its join token, and runs what they offer', async () => {
  let coordinator = await startCoordinator(env, { auth: true });
  let client = api(coordinator.url, { token: coordinator.token });
  const joinEnv = { DROVER_JOIN_TOKEN: await createJoinToken(client) };
  const first = await startAgent(env, { env: joinEnv });
  await first.stop();
  await coordinator.stop();

  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  const keyBefore = (await db.query('SELECT public_key FROM agents WHERE id = $1', [first.agentId])).rows[0]?.public_key;
  await db.query('UPDATE agents SET public_key = NULL, joined_with_token = NULL WHERE id = $1', [first.agentId]);
  await db.query('DELETE FROM coordinator_keys');
  await db.end();

  coordinator = await startCoordinator(env, { auth: true });
  client = api(coordinator.url, { token: coordinator.token });
  const again = await startAgent(env, { stateDir: first.stateDir, env: joinEnv });
  expect(again.agentId).toBe(first.agentId);
  await again.proc.waitForLog('the coordinators do not know this agent; joining again with the join token');
  await again.proc.waitForLog('agent joined');

  const check = new pg.Client({ connectionString: env.databaseUrl });
  await check.connect();
  expect((await check.query('SELECT public_key FROM agents WHERE id = $1', [first.agentId])).rows[0]?.public_key).toBe(keyBefore);
  await check.end();

  // Offers signed with the new cluster key are taken: the agent pinned it at its new join.
  const runs = runHelpers(client);
  const job = await runs.createJob({ name: 'after-rejoin', executor: { type: 'noop' } });
  expect(await runs.waitForRun(await runs.trigger(job))).toMatchObject({ state: 'succeeded', agentId: first.agentId });
}, 120_000);
