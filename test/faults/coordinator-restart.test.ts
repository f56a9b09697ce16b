// The coordinator restarts while runs execute: the agent keeps their results in its outbox and
// delivers them to the new coordinator; every run ends with exactly one accepted result.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, startAgent, startCoordinator, waitFor, type Run, type TestEnv } from '../support/index.js';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.cleanup());

it('delivers every result to the coordinator that replaced the one running when the runs started', { timeout: 60_000 }, async () => {
  const first = await startCoordinator(env);
  await startAgent(env, { slots: 5, name: 'steady' });
  const client = api(first.url);
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'outlives',
      executor: { type: 'exec', command: ['sh', '-c', 'sleep 3; echo done'] },
    })
  ).body;
  const ids = (await client.post<{ runs: Array<{ id: string }> }>('/v1/runs/batch', { runs: [{ job: job.id, count: 5 }] })).body.runs.map(
    (r) => r.id,
  );
  await waitFor(
    async () =>
      (await client.get<{ total: number }>(`/v1/runs?job=${job.id}&status=running&limit=1`)).body.total === 5 ? true : undefined,
    {
      description: 'all five runs to be running',
    },
  );
  await first.stop();

  const second = api((await startCoordinator(env)).url);
  const runs = await waitFor(
    async () => {
      const all = await Promise.all(ids.map(async (id) => (await second.get<Run>(`/v1/runs/${id}`)).body));
      return all.every((r) => r.state === 'succeeded') ? all : undefined;
    },
    { timeoutMs: 40_000, description: 'every run to succeed after the restart' },
  );
  for (const r of runs) expect(r.transitions.filter((t) => t.to === 'succeeded')).toHaveLength(1);
  for (const id of ids) {
    const logs = (await second.get<{ items: Array<{ data: string }> }>(`/v1/runs/${id}/logs`)).body.items;
    expect(logs.map((l) => l.data).join('')).toBe('done\n');
  }
});
