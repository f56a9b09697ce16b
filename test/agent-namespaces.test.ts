// Agents restricted to namespaces: an agent joined with a join token of namespace B is never
// offered a run of a job in namespace A; such a run stays queued and says why, until an agent
// allowed A joins. An agent can narrow what its token allows (--job-namespaces).
import { afterAll, beforeAll, expect, it } from 'vitest';
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
let runs: ReturnType<typeof runHelpers>;

const joinToken = (namespaces: string[]) => createJoinToken(client, namespaces);

async function agentWith(token: string, extraArgs: string[] = []): Promise<StartedAgent> {
  return startAgent(env, { slots: 4, extraArgs, env: { DROVER_JOIN_TOKEN: token } });
}

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env);
  client = api(coordinator.url);
  runs = runHelpers(client);
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
});

it('never offers a job of namespace A to an agent restricted to B; the run waits with the reason until an agent allowed A joins', async () => {
  const agentB = await agentWith(await joinToken(['team-b']));
  expect((await client.get<{ namespaces: string[] | null }>(`/v1/agents/${agentB.agentId}`)).body.namespaces).toEqual(['team-b']);

  const jobA = await runs.createJob({ name: 'job-of-a', namespace: 'team-a', executor: { type: 'noop' } });
  const jobB = await runs.createJob({ name: 'job-of-b', namespace: 'team-b', executor: { type: 'noop' } });
  const runA = await runs.trigger(jobA);
  const runB = await runs.trigger(jobB);

  expect((await runs.waitForRun(runB)).agentId).toBe(agentB.agentId);
  const waiting = await runs.waitForRun(runA, (r) => r.state === 'queued' && (r.queueReason ?? '').length > 0);
  expect(waiting.queueReason).toMatch(/no agent is allowed namespace team-a/);
  expect(waiting.queueReason).toMatch(/drover tokens create --role agent --namespace team-a/);

  // An agent allowed A (among others) takes it; B's agent never saw an offer for it.
  const agentA = await agentWith(await joinToken(['team-a', 'team-c']));
  const done = await runs.waitForRun(runA);
  expect(done).toMatchObject({ state: 'succeeded', agentId: agentA.agentId });
  const offers = (done.transitions as Array<{ to: string; agentId?: string | null }>).filter((t) => t.to === 'offered');
  expect(offers.map((t) => t.agentId)).toEqual([agentA.agentId]);
}, 90_000);

it('an agent narrows what its join token allows with --job-namespaces', async () => {
  const narrowed = await agentWith(await joinToken([]), ['--job-namespaces', 'team-d']);
  const agent = (await client.get<{ namespaces: string[] | null }>(`/v1/agents/${narrowed.agentId}`)).body;
  expect(agent.namespaces).toEqual(['team-d']);
  const job = await runs.createJob({ name: 'job-of-d', namespace: 'team-d', executor: { type: 'noop' } });
  expect((await runs.waitForRun(await runs.trigger(job))).agentId).toBe(narrowed.agentId);
}, 60_000);
