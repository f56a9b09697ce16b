// The API the dashboard reads beyond the core resources: fleet alerts, job summaries, agent
// pages filtered by label and state, and the dashboard itself served under /ui/.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  FAST_LIVENESS_ARGS,
  runHelpers,
  startAgent,
  startCoordinator,
  waitFor,
  type ApiClient,
  type StartedAgent,
  type TestEnv,
} from './support/index.js';

interface AgentItem {
  id: string;
  name: string;
  state: string;
  labels: Record<string, string>;
  runningRuns: number;
}
interface AgentPage {
  items: AgentItem[];
  total: number;
  nextCursor: string | null;
}
interface Alerts {
  agentsDown: Array<{ id: string; name: string }>;
  runsLost: { count: number; recent: Array<{ runId: string; jobName: string | null }> };
  unplaceable: Array<{ jobId: string; jobName: string | null; reason: string; queued: number }>;
}
interface JobSummary {
  jobId: string;
  name: string;
  schedule: { description: string; timezone: string; paused: boolean; nextFireAt: string | null; nextFireLocal: string | null } | null;
  lastRun: { id: string; state: string } | null;
  recentFinished: number;
  successRate: number | null;
}

let env: TestEnv;
let client: ApiClient;
let eu: StartedAgent;
let us: StartedAgent;

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env, FAST_LIVENESS_ARGS);
  client = api(coordinator.url);
  [eu, us] = await Promise.all([
    startAgent(env, { labels: { region: 'eu', pool: 'web' }, slots: 2, name: 'agent-eu' }),
    startAgent(env, { labels: { region: 'us', pool: 'web' }, slots: 2, name: 'agent-us' }),
  ]);
});
afterAll(async () => env?.cleanup());

it('lists agents a page at a time, filtered by labels and state, with the runs each holds', async () => {
  const { createJob, trigger, waitForRun } = runHelpers(client);
  const jobId = await createJob({
    name: 'hold-eu',
    executor: { type: 'noop', sleep: '30s' },
    constraints: [{ attribute: 'label.region', operator: '=', value: 'eu' }],
  });
  const runId = await trigger(jobId);
  await waitForRun(runId, (r) => r.state === 'running');

  const byLabel = (await client.get<AgentPage>('/v1/agents?label=region=eu')).body;
  expect(byLabel.items.map((a) => a.id)).toEqual([eu.agentId]);
  expect(byLabel.items[0]?.runningRuns).toBe(1);
  expect((await client.get<AgentPage>('/v1/agents?label=pool=web,region=us')).body.items.map((a) => a.id)).toEqual([us.agentId]);
  expect((await client.get<AgentPage>('/v1/agents?label=pool=gpu')).body).toEqual({ items: [], total: 0, nextCursor: null });

  const first = (await client.get<AgentPage>('/v1/agents?limit=1')).body;
  expect(first.total).toBe(2);
  expect(first.items).toHaveLength(1);
  expect(first.nextCursor).not.toBeNull();
  const second = (await client.get<AgentPage>(`/v1/agents?limit=1&cursor=${first.nextCursor}`)).body;
  // Agents are named after their host (the same here): the id breaks the tie.
  expect([...first.items, ...second.items].map((a) => a.id).sort()).toEqual([eu.agentId, us.agentId].sort());

  await client.post(`/v1/agents/${us.agentId}/cordon`);
  expect((await client.get<AgentPage>('/v1/agents?state=cordoned')).body.items.map((a) => a.id)).toEqual([us.agentId]);
  await client.post(`/v1/agents/${us.agentId}/uncordon`);

  const bad = await client.get<{ errors: Array<{ field: string }> }>('/v1/agents?label=region');
  expect(bad.status).toBe(400);
  expect(bad.body.errors.map((e) => e.field)).toEqual(['label']);
  await client.post(`/v1/runs/${runId}/cancel`);
});

it('summarises jobs: schedule in words with its next fire in the zone, last outcome, success rate', async () => {
  const { createJob, trigger, waitForRun } = runHelpers(client);
  const flaky = await createJob({
    name: 'flaky',
    executor: { type: 'exec', command: ['sh', '-c', 'exit "$DROVER_PARAM_CODE"'] },
    parameters: { code: '0' },
    schedule: { cron: '30 2 * * *', timezone: 'Europe/Rome' },
  });
  for (const code of ['0', '0', '1', '0']) await waitForRun(await trigger(flaky, { code }));
  const manual = await createJob({ name: 'never-run', executor: { type: 'noop' } });

  const res = await client.get<{ items: JobSummary[] }>(`/v1/job-summaries?ids=${manual},${flaky},no-such-job`);
  expect(res.status).toBe(200);
  const [never, summary] = res.body.items;
  expect(res.body.items).toHaveLength(2);
  expect(never).toMatchObject({ jobId: manual, name: 'never-run', schedule: null, lastRun: null, recentFinished: 0, successRate: null });
  expect(summary).toMatchObject({ jobId: flaky, recentFinished: 4, successRate: 0.75, lastRun: { state: 'succeeded' } });
  expect(summary?.schedule?.timezone).toBe('Europe/Rome');
  expect(summary?.schedule?.description).toMatch(/2:30|02:30/);
  // The next fire is 02:30 on the wall clock of Rome, whatever UTC says.
  expect(summary?.schedule?.nextFireLocal).toMatch(/02:30/);
  expect(summary?.schedule?.nextFireAt).not.toBeNull();
});

it('alerts on queued runs no agent can take, and on agents down with the runs lost with them', { timeout: 90_000 }, async () => {
  const { createJob, trigger, waitForRun } = runHelpers(client);
  const nowhere = await createJob({
    name: 'wants-ap',
    executor: { type: 'noop' },
    constraints: [{ attribute: 'label.region', operator: '=', value: 'ap' }],
  });
  await trigger(nowhere);
  await trigger(nowhere);
  const stuck = await waitFor(
    async () => {
      const a = (await client.get<Alerts>('/v1/alerts')).body;
      return a.unplaceable.find((u) => u.jobId === nowhere && u.queued === 2);
    },
    { description: 'the queued runs of wants-ap to be reported unplaceable' },
  );
  expect(stuck).toEqual(expect.objectContaining({ jobName: 'wants-ap', reason: 'no agent matches label.region = ap' }));

  const before = (await client.get<Alerts>('/v1/alerts')).body;
  expect(before.agentsDown).toEqual([]);
  const pinned = await createJob({
    name: 'pinned-us',
    executor: { type: 'noop', sleep: '60s' },
    constraints: [{ attribute: 'label.region', operator: '=', value: 'us' }],
    retry: { maxAttempts: 1 },
    // Given up as soon as its agent is down (the default, stop, would wait out disconnect.after).
    disconnect: { mode: 'keep' },
  });
  const runId = await trigger(pinned);
  await waitForRun(runId, (r) => r.state === 'running');
  await us.kill();
  const after = await waitFor(
    async () => {
      const a = (await client.get<Alerts>('/v1/alerts')).body;
      return a.agentsDown.length > 0 && a.runsLost.count > 0 ? a : undefined;
    },
    { timeoutMs: 60_000, description: 'agent-us to be down with its run lost' },
  );
  expect(after.agentsDown.map((a) => a.id)).toEqual([us.agentId]);
  expect(after.runsLost.recent[0]).toMatchObject({ runId, jobName: 'pinned-us' });

  const bad = await client.get<{ errors: Array<{ field: string }> }>('/v1/alerts?since=lately');
  expect(bad.status).toBe(400);
  expect(bad.body.errors.map((e) => e.field)).toEqual(['since']);
});

it('serves the dashboard under /ui/ with a fallback to its page, and documents the new endpoints', async () => {
  const root = await fetch(`${client.baseUrl}/`, { redirect: 'manual' });
  expect(root.status).toBe(302);
  expect(root.headers.get('location')).toBe('/ui/');
  for (const path of ['/ui/', '/ui/runs/01ABC', '/ui/fleet?state=ready']) {
    const page = await fetch(`${client.baseUrl}${path}`);
    expect(page.status, path).toBe(200);
    expect(page.headers.get('content-type'), path).toContain('text/html');
    expect(await page.text(), path).toContain('<div id="app"');
  }
  const bundle = await fetch(`${client.baseUrl}/ui/app.js`);
  expect(bundle.status).toBe(200);
  expect(bundle.headers.get('content-type')).toContain('javascript');
  expect((await fetch(`${client.baseUrl}/ui/no-such-file.js`)).status).toBe(404);

  const doc = (await client.get<{ paths: Record<string, unknown> }>('/openapi.json')).body;
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/alerts', '/v1/job-summaries', '/v1/agents']));
  expect(Object.keys(doc.paths).filter((p) => p.startsWith('/ui') || p === '/')).toEqual([]);
});
