// An agent stopped cleanly (SIGTERM: it drains, reports, says goodbye) leaves the fleet as
// `left`: no alert, no `agent.down` notification, nothing taken back. One that crashes beside
// it is still found `down`, with both. The left agent, started again, registers as before.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  FAST_LIVENESS_ARGS,
  runHelpers,
  startAgent,
  startCoordinator,
  startReceiver,
  waitFor,
  type ApiClient,
  type Receiver,
  type TestEnv,
} from '../support/index.js';

interface Agent {
  id: string;
  state: string;
}
interface Alerts {
  agentsDown: Array<{ id: string }>;
}

let env: TestEnv;
let client: ApiClient;
let hook: Receiver;

beforeAll(async () => {
  env = await createTestEnv();
  hook = await startReceiver(env);
  client = api((await startCoordinator(env, [...FAST_LIVENESS_ARGS, '--notify-url', hook.url])).url);
});
afterAll(async () => env?.cleanup());

const stateOf = async (id: string): Promise<string> => (await client.get<Agent>(`/v1/agents/${id}`)).body.state;
const downNotified = (): string[] =>
  hook.requests.flatMap((r) => {
    const body = r.body as { event?: string; agents?: Array<{ id: string }> };
    return body.event === 'agent.down' ? (body.agents ?? []).map((a) => a.id) : [];
  });

it('shows a cleanly stopped agent as left without an alert, a crashed one as down', { timeout: 90_000 }, async () => {
  const { createJob, trigger, waitForRun } = runHelpers(client);
  const leaving = await startAgent(env, { labels: { pool: 'leave' }, slots: 1, name: 'leaving' });
  const crashing = await startAgent(env, { labels: { pool: 'crash' }, slots: 1, name: 'crashing' });
  // The agent to be stopped has run something: it leaves with its reports delivered.
  const job = await createJob({
    name: 'before-leaving',
    executor: { type: 'noop', sleep: '500ms' },
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'leave' }],
  });
  const run = await waitForRun(await trigger(job));
  expect(run.state).toBe('succeeded');
  expect(run.agentId).toBe(leaving.agentId);

  expect((await leaving.stop()).code).toBe(0);
  await waitFor(async () => ((await stateOf(leaving.agentId)) === 'left' ? true : undefined), {
    description: 'the stopped agent to have left',
  });
  await crashing.kill();
  // Once the crashed agent is down, the silence of the stopped one has been judged too.
  await waitFor(async () => ((await stateOf(crashing.agentId)) === 'down' ? true : undefined), {
    description: 'the crashed agent to be down',
  });
  await waitFor(() => (downNotified().includes(crashing.agentId) ? true : undefined), { description: 'the agent.down notification' });
  expect(await stateOf(leaving.agentId)).toBe('left');
  const alerts = (await client.get<Alerts>('/v1/alerts')).body;
  expect(alerts.agentsDown.map((a) => a.id)).toEqual([crashing.agentId]);
  expect(downNotified()).not.toContain(leaving.agentId);
  // The run it ran is untouched: nothing was lost with the agent.
  expect((await waitForRun(run.id)).state).toBe('succeeded');

  // Started again on its state dir, it is the same agent, ready.
  const back = await startAgent(env, { labels: { pool: 'leave' }, slots: 1, name: 'leaving', stateDir: leaving.stateDir });
  expect(back.agentId).toBe(leaving.agentId);
  expect(await stateOf(leaving.agentId)).toBe('ready');
  const again = await waitForRun(await trigger(job));
  expect(again.state).toBe('succeeded');
  expect(again.agentId).toBe(leaving.agentId);
});
