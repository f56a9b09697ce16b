// With API auth (so agents must have joined): when the coordinators no longer know an agent's
// key — a database restored from before its join — an agent that still has its join token joins
// again by itself, keeping its key and the cluster key it pinned: the coordinators' refusal and
// their answer to the re-join must be signed with that key. When the cluster key itself was lost,
// the agent does not follow: an operator removes its pinned key (`<state-dir>/joined`).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createJoinToken,
  createTestEnv,
  runHelpers,
  spawnDrover,
  startAgent,
  startCoordinator,
  type TestEnv,
} from '../support/index.js';

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

  // Offers signed with the cluster key are taken: the same key is pinned.
  const runs = runHelpers(client);
  const job = await runs.createJob({ name: 'after-rejoin', executor: { type: 'noop' } });
  expect(await runs.waitForRun(await runs.trigger(job))).toMatchObject({ state: 'succeeded', agentId: first.agentId });
  await again.stop();
  await coordinator.stop();
}, 120_000);

it('an agent does not re-join a cluster whose key changed, until an operator removes the pinned key', async () => {
  let coordinator = await startCoordinator(env, { auth: true });
  const client = api(coordinator.url, { token: coordinator.token });
  const joinEnv = { DROVER_JOIN_TOKEN: await createJoinToken(client) };
  const first = await startAgent(env, { env: joinEnv });
  await first.stop();
  await coordinator.stop();
  const pinned = (JSON.parse(readFileSync(join(first.stateDir, 'joined'), 'utf8')) as { coordinatorKey: string }).coordinatorKey;

  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  await db.query('UPDATE agents SET public_key = NULL, joined_with_token = NULL WHERE id = $1', [first.agentId]);
  await db.query('DELETE FROM coordinator_keys');
  await db.end();

  coordinator = await startCoordinator(env, { auth: true });
  const again = spawnDrover(env, ['agent'], {
    name: 'key-changed',
    stateDir: first.stateDir,
    // As startAgent does: this test runs as root without --run-as.
    env: { ...joinEnv, DROVER_ALLOW_SAME_USER: 'true' },
  });
  try {
    // The refusal is signed with a key it did not pin: ignored, and the join token is not sent.
    await again.waitForLog('ignored an answer to a registration not signed with the pinned cluster key');
    expect(again.lines.map((l) => l.text).join('\n')).not.toMatch(/joining again with the join token/);
    expect((JSON.parse(readFileSync(join(first.stateDir, 'joined'), 'utf8')) as { coordinatorKey: string }).coordinatorKey).toBe(pinned);
  } finally {
    again.kill();
    await again.exited;
  }

  // The operator action: remove the pinned key; the agent joins (trusting the first answer) with its key.
  rmSync(join(first.stateDir, 'joined'));
  const back = await startAgent(env, { stateDir: first.stateDir, env: joinEnv });
  await back.proc.waitForLog('agent joined');
  expect((JSON.parse(readFileSync(join(first.stateDir, 'joined'), 'utf8')) as { coordinatorKey: string }).coordinatorKey).not.toBe(pinned);
}, 120_000);
