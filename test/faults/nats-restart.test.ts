// The NATS server restarts while runs execute: coordinator and agent reconnect by themselves,
// the runs' results arrive, and new runs are dispatched afterwards. The test runs its own
// nats-server on a free port, so the shared one is never disturbed.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  freePort,
  sleep,
  startAgent,
  startCoordinator,
  startPrivateNats,
  waitFor,
  type Run,
  type TestEnv,
} from '../support/index.js';

let env: TestEnv;
let port: number;

beforeAll(async () => {
  env = await createTestEnv();
  port = await freePort();
});
afterAll(async () => env?.cleanup());

it('keeps every run through a NATS restart and dispatches new ones afterwards', { timeout: 90_000 }, async () => {
  let nats = await startPrivateNats(env, port);
  const url = `nats://127.0.0.1:${port}`;
  const client = api((await startCoordinator(env, ['--nats', url])).url);
  await startAgent(env, { slots: 4, extraArgs: ['--nats', url] });
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'through-a-restart',
      executor: { type: 'exec', command: ['sh', '-c', 'sleep 3; echo ok'] },
    })
  ).body;
  const ids = (await client.post<{ runs: Array<{ id: string }> }>('/v1/runs/batch', { runs: [{ job: job.id, count: 3 }] })).body.runs.map(
    (r) => r.id,
  );
  await waitFor(
    async () =>
      (await client.get<{ total: number }>(`/v1/runs?job=${job.id}&status=running&limit=1`)).body.total === 3 ? true : undefined,
    {
      description: 'the runs to be running',
    },
  );

  await nats.kill();
  await sleep(1000);
  nats = await startPrivateNats(env, port);

  const settle = (runIds: string[]) =>
    waitFor(
      async () => {
        const all = await Promise.all(runIds.map(async (id) => (await client.get<Run>(`/v1/runs/${id}`)).body));
        return all.every((r) => r.state === 'succeeded') ? all : undefined;
      },
      { timeoutMs: 40_000, description: 'the runs to succeed' },
    );
  for (const r of await settle(ids)) expect(r.transitions.filter((t) => t.to === 'succeeded')).toHaveLength(1);
  const after = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`)).body.id;
  expect((await settle([after]))[0]?.state).toBe('succeeded');
  expect((await client.get<{ checks: { nats: { ok: boolean } } }>('/readyz')).body.checks.nats.ok).toBe(true);
});
