// Limits and outcomes that fire actions, on a real agent: a run past its expectedRunTime records
// a violation and a webhook hears of it while the run goes on; a timed-out attempt fires
// on_timeout; an http job answered 503 is retried under its policy and the status is on record.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  runHelpers,
  startAgent,
  startCoordinator,
  startReceiver,
  waitFor,
  type ApiClient,
  type TestEnv,
} from './support/index.js';

let env: TestEnv;
let client: ApiClient;
let h: ReturnType<typeof runHelpers>;

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env);
  client = api(coordinator.url);
  h = runHelpers(client);
  await startAgent(env, { slots: 4, extraArgs: ['--allow-http'] });
});
afterAll(async () => env?.cleanup());

it('records a violation past expectedRunTime, tells a webhook, and lets the run finish', { timeout: 60_000 }, async () => {
  const hook = await startReceiver(env);
  const jobId = await h.createJob({
    name: 'slow-report',
    executor: { type: 'exec', command: ['sleep', '3'] },
    expectedRunTime: '1s',
    actions: [{ trigger: 'on_violation', type: 'webhook', url: hook.url }],
  });
  const id = await h.trigger(jobId);
  const violated = await h.waitForRun(id, (r) => r.violatedAt !== null);
  expect(violated.state).toBe('running');
  const request = await waitFor(() => hook.requests[0], { description: 'the on_violation webhook' });
  expect(request.body).toMatchObject({ event: 'on_violation', run: { id, jobId }, job: { id: jobId, name: 'slow-report' } });
  const run = await h.waitForRun(id);
  expect(run.state).toBe('succeeded');
  expect(run.attempts[0]?.violatedAt).toBe(violated.violatedAt);
  expect(run.transitions.find((t) => t.reason?.startsWith('violation'))?.reason).toMatch(/past its expected run time of 1s/);
  console.log(
    `violation recorded ${((Date.parse(violated.violatedAt!) - Date.parse(violated.startedAt!)) / 1000).toFixed(2)} s after start (expectedRunTime 1 s)`,
  );
  expect(hook.requests).toHaveLength(1);
});

it('fires on_timeout for each timed-out attempt and on_failure once when the run gives up', { timeout: 60_000 }, async () => {
  const hook = await startReceiver(env);
  const jobId = await h.createJob({
    name: 'hangs',
    executor: { type: 'exec', command: ['sleep', '30'] },
    timeout: '500ms',
    killGracePeriod: '0s',
    retry: { maxAttempts: 2, initialDelay: '100ms' },
    actions: [
      { trigger: 'on_timeout', type: 'webhook', url: hook.url },
      { trigger: 'on_failure', type: 'webhook', url: hook.url, format: 'slack' },
    ],
  });
  const run = await h.waitForRun(await h.trigger(jobId));
  expect(run.state).toBe('timed_out');
  expect(run.attempts.map((a) => a.outcome)).toEqual(['timed_out', 'timed_out']);
  await waitFor(() => (hook.requests.length === 3 ? true : undefined), { description: 'three webhooks' });
  const events = hook.requests.map((r) => (typeof r.body === 'string' ? 'slack?' : ((r.body.event as string | undefined) ?? 'slack')));
  expect(events.sort()).toEqual(['on_timeout', 'on_timeout', 'slack']);
  const slack = hook.requests.find((r) => typeof r.body !== 'string' && r.body.text !== undefined);
  expect(slack?.body).toMatchObject({ text: expect.stringContaining('hangs') });
  const actions = await waitFor(
    async () => {
      const items = (await client.get<{ items: Array<{ trigger: string; state: string }> }>(`/v1/runs/${run.id}/actions`)).body.items;
      return items.every((a) => a.state === 'succeeded') ? items : undefined;
    },
    { description: 'every action recorded as delivered' },
  );
  expect(actions.map((a) => `${a.trigger}:${a.state}`).sort()).toEqual([
    'on_failure:succeeded',
    'on_timeout:succeeded',
    'on_timeout:succeeded',
  ]);
});

it('retries an http job answered 503 and keeps each attempt’s status', async () => {
  const endpoint = await startReceiver(env, (n) => (n === 1 ? 503 : 200));
  const jobId = await h.createJob({
    name: 'call-api',
    executor: { type: 'http', method: 'POST', url: endpoint.url, body: { day: '{{ param.day }}', run: '{{ run.id }}' } },
    parameters: { day: 'monday' },
    retry: { maxAttempts: 3, initialDelay: '100ms' },
  });
  const id = await h.trigger(jobId, { day: 'tuesday' });
  const run = await h.waitForRun(id);
  expect(run.state).toBe('succeeded');
  expect(run.attempts.map((a) => [a.outcome, (a as { httpStatus?: number }).httpStatus])).toEqual([
    ['failed', 503],
    ['succeeded', 200],
  ]);
  expect(endpoint.requests.map((r) => r.body)).toEqual([
    { day: 'tuesday', run: id },
    { day: 'tuesday', run: id },
  ]);
});
