// Revoking an agent: its running run is lost and retried on another agent at once, the revoked
// agent is refused at its next heartbeat and stops, and it can come back only with a join
// token created after the revocation.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createJoinToken,
  createTestEnv,
  runHelpers,
  spawnDrover,
  startAgent,
  startCoordinator,
  type ApiClient,
  type TestEnv,
} from './support/index.js';

let env: TestEnv;
let client: ApiClient;
let runs: ReturnType<typeof runHelpers>;

const joinToken = () => createJoinToken(client);

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env);
  client = api(coordinator.url);
  runs = runHelpers(client);
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
});

it('a revoked agent loses its run to another agent, stops, and needs a newer join token to come back', async () => {
  const oldToken = await joinToken();
  const revoked = await startAgent(env, { slots: 1, name: 'to-revoke', env: { DROVER_JOIN_TOKEN: oldToken } });
  const job = await runs.createJob({ name: 'long-sleep', executor: { type: 'exec', command: ['sleep', '60'] } });
  const runId = await runs.trigger(job);
  await runs.waitForRun(runId, (r) => r.state === 'running' && r.agentId === revoked.agentId);
  const other = await startAgent(env, { slots: 1, name: 'other' });

  const res = await client.post<{ state: string; revokedAt: string | null }>(`/v1/agents/${revoked.agentId}/revoke`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.state).toBe('gone');
  expect(res.body.revokedAt).not.toBeNull();

  // Lost with the revoked agent and retried (the default policy retries a lost attempt once) on the other.
  const retried = await runs.waitForRun(runId, (r) => r.state === 'running' && r.agentId === other.agentId);
  expect(retried.attempts[0]).toMatchObject({ outcome: 'lost' });
  expect(JSON.stringify(retried.attempts[0])).toMatch(/was revoked/);

  // Refused at its next heartbeat: it logs why and what to do, and stops.
  expect((await revoked.proc.exited).code).toBe(1);
  expect(revoked.proc.lines.map((l) => l.text).join('\n')).toMatch(/was revoked.*new join token/);
  const audit = await client.get<{ items: Array<{ target: string }> }>('/v1/audit?action=agent.revoked');
  expect(audit.body.items.map((a) => a.target)).toContain(revoked.agentId);

  // Back with the token it joined with: refused (older than the revocation).
  const again = spawnDrover(env, ['agent', '--allow-same-user'], {
    name: 'revoked-again',
    stateDir: revoked.stateDir,
    env: { DROVER_JOIN_TOKEN: oldToken },
  });
  expect((await again.exited).code).toBe(1);
  expect(again.lines.map((l) => l.text).join('\n')).toMatch(/join token is older/);
  // With a new one it joins again, with a new key.
  const back = await startAgent(env, { stateDir: revoked.stateDir, name: 'rejoined', env: { DROVER_JOIN_TOKEN: await joinToken() } });
  expect(back.agentId).toBe(revoked.agentId);
  const agent = (await client.get<{ state: string; revokedAt: string | null }>(`/v1/agents/${revoked.agentId}`)).body;
  expect(agent).toMatchObject({ state: 'ready', revokedAt: null });
  await client.post(`/v1/runs/${runId}/cancel`);
}, 120_000);
