// Namespace isolation through the REST API, against a real coordinator and agent: a token of
// team A sees and acts on A's jobs, runs, logs and dead letters only. B's are a 404 to it (never
// a 403: their existence does not leak), lists leave them out, and it may not create jobs in B.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createJoinToken,
  createTestEnv,
  runHelpers,
  startAgent,
  startCoordinator,
  waitFor,
  type ApiClient,
  type Job,
  type Run,
  type StartedCoordinator,
  type TestEnv,
} from './support/index.js';

interface Page<T> {
  items: T[];
  total: number;
  nextCursor?: string | null;
}

let env: TestEnv;
let coordinator: StartedCoordinator;
let admin: ApiClient;
let teamA: ApiClient;
let teamB: ApiClient;
let jobA: Job;
let jobB: Job;
let runB: Run;
let failedB: Run;

async function tokenFor(role: string, namespaces: string[]): Promise<ApiClient> {
  const res = await admin.post<{ token: string }>('/v1/tokens', { role, namespaces });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return api(coordinator.url, { token: res.body.token });
}

beforeAll(async () => {
  env = await createTestEnv();
  coordinator = await startCoordinator(env, { auth: true });
  admin = api(coordinator.url, { token: coordinator.token });
  teamA = await tokenFor('operator', ['team-a']);
  teamB = await tokenFor('operator', ['team-b']);
  // Agents join a secure coordinator with a join token (a token of role agent).
  const join = await admin.post<{ token: string }>('/v1/tokens', { role: 'agent', name: 'namespaces-agent' });
  await startAgent(env, { slots: 4, env: { DROVER_JOIN_TOKEN: join.body.token } });
  // The same name in both namespaces: names are unique per namespace.
  jobA = (await teamA.post<Job>('/v1/jobs', { name: 'build', namespace: 'team-a', executor: { type: 'noop' } })).body;
  jobB = (await teamB.post<Job>('/v1/jobs', { name: 'build', namespace: 'team-b', executor: { type: 'noop' } })).body;
  expect(jobA.namespace).toBe('team-a');
  expect(jobB.namespace).toBe('team-b');
  const failing = (
    await teamB.post<Job>('/v1/jobs', { name: 'fails', namespace: 'team-b', executor: { type: 'exec', command: ['false'] } })
  ).body;
  runB = (await teamB.post<Run>(`/v1/jobs/${jobB.id}/runs`)).body;
  await teamA.post<Run>(`/v1/jobs/${jobA.id}/runs`);
  failedB = (await teamB.post<Run>(`/v1/jobs/${failing.id}/runs`)).body;
  const runs = runHelpers(admin);
  expect((await runs.waitForRun(runB.id)).state).toBe('succeeded');
  expect((await runs.waitForRun(failedB.id)).state).toBe('failed');
  // A run that fails its last attempt is a dead letter of its job's namespace.
  await waitFor(async () => ((await admin.get<Page<unknown>>('/v1/dead-letters')).body.total > 0 ? true : undefined));
}, 120_000);

afterAll(async () => {
  await env?.cleanup();
});

describe('a token of namespace A', () => {
  it("gets 404 for B's job, run, logs, actions and dead letter, by id and by name", async () => {
    for (const path of [
      `/v1/jobs/${jobB.id}`,
      `/v1/jobs/team-b%2Fbuild`,
      `/v1/jobs/${jobB.id}/schedule`,
      `/v1/runs/${runB.id}`,
      `/v1/runs/${runB.id}/logs`,
      `/v1/runs/${runB.id}/actions`,
    ])
      expect((await teamA.get(path)).status, path).toBe(404);
    // By bare name it finds its own job of that name, not B's.
    expect((await teamA.get<Job>('/v1/jobs/build')).body.id).toBe(jobA.id);
  });

  it("cannot trigger, change, pause, delete or cancel B's jobs and runs (404), and nothing changes", async () => {
    const attempts: Array<[string, () => Promise<{ status: number }>]> = [
      ['trigger', () => teamA.post(`/v1/jobs/${jobB.id}/runs`)],
      ['patch', () => teamA.patch(`/v1/jobs/${jobB.id}`, { description: 'mine now' })],
      ['pause', () => teamA.post(`/v1/jobs/${jobB.id}/pause`)],
      ['delete', () => teamA.del(`/v1/jobs/${jobB.id}`)],
      ['cancel', () => teamA.post(`/v1/runs/${runB.id}/cancel`)],
      ['retry', () => teamA.post(`/v1/runs/${runB.id}/retry`)],
      ['replay', () => teamA.post(`/v1/dead-letters/${failedB.id}/replay`)],
      ['dismiss', () => teamA.post(`/v1/dead-letters/${failedB.id}/dismiss`)],
    ];
    for (const [what, call] of attempts) expect((await call()).status, what).toBe(404);
    // A batch naming B's job is told there is no such job.
    expect((await teamA.post('/v1/runs/batch', { runs: [{ job: jobB.id }] })).status).toBe(400);
    const after = (await admin.get<Job & { description?: string; pausedAt: string | null }>(`/v1/jobs/${jobB.id}`)).body;
    expect(after.description).toBeUndefined();
    expect(after.pausedAt).toBeNull();
    expect((await admin.get<Page<Run>>(`/v1/runs?job=${jobB.id}`)).body.total).toBe(1);
    // Bulk dead-letter operations never reach B's entries.
    expect((await teamA.post<{ count: number }>('/v1/dead-letters/dismiss', { all: true })).body.count).toBe(0);
    expect((await admin.get<Page<unknown>>('/v1/dead-letters')).body.total).toBe(1);
  });

  it('sees only its namespaces in lists, and filters by namespace', async () => {
    const jobs = (await teamA.get<Page<Job>>('/v1/jobs')).body;
    expect(jobs.items.map((j) => j.id)).toEqual([jobA.id]);
    expect(jobs.total).toBe(1);
    const runs = (await teamA.get<Page<Run>>('/v1/runs')).body;
    expect(runs.items.every((r) => r.jobId === jobA.id)).toBe(true);
    expect(runs.total).toBe(1);
    expect((await teamA.get<Page<unknown>>('/v1/dead-letters')).body.total).toBe(0);
    expect((await teamA.get<Page<Run>>('/v1/runs?namespace=team-b')).body.total).toBe(0);
    expect((await teamA.get<Page<Job>>('/v1/jobs?namespace=team-b')).body.total).toBe(0);
    expect((await teamA.get<{ items: unknown[] }>(`/v1/job-summaries?ids=${jobB.id},${jobA.id}`)).body.items).toHaveLength(1);
    // An admin sees both, and narrows with ?namespace=.
    expect((await admin.get<Page<Job>>('/v1/jobs')).body.items.map((j) => j.namespace).sort()).toEqual(['team-a', 'team-b', 'team-b']);
    expect((await admin.get<Page<Run>>('/v1/runs?namespace=team-a')).body.total).toBe(1);
    // Paging one job at a time skips neither of two jobs sharing a name across namespaces.
    const paged: string[] = [];
    for (let cursor: string | null = ''; cursor !== null;) {
      const page: Page<Job> = (await admin.get<Page<Job>>(`/v1/jobs?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).body;
      paged.push(...page.items.map((j) => j.id));
      cursor = page.nextCursor ?? null;
    }
    expect(paged.sort()).toEqual((await admin.get<Page<Job>>('/v1/jobs')).body.items.map((j) => j.id).sort());
    // The same name in two namespaces is ambiguous to a caller who sees both: it must say which.
    expect((await admin.get('/v1/jobs/build')).status).toBe(409);
    expect((await admin.get<Job>('/v1/jobs/team-a%2Fbuild')).body.id).toBe(jobA.id);
  });

  it('cannot create or move a job into namespace B (403)', async () => {
    expect((await teamA.post('/v1/jobs', { name: 'sneaky', namespace: 'team-b', executor: { type: 'noop' } })).status).toBe(403);
    expect((await teamA.post('/v1/jobs', { name: 'sneaky', executor: { type: 'noop' } })).status).toBe(403); // default namespace
    expect((await teamA.patch(`/v1/jobs/${jobA.id}`, { namespace: 'team-b' })).status).toBe(403);
    expect((await admin.get<Job>(`/v1/jobs/${jobA.id}`)).body.namespace).toBe('team-a');
    expect((await admin.get<Page<Job>>('/v1/jobs?namespace=team-b')).body.total).toBe(2);
  });

  it('refuses a namespace name outside the charset', async () => {
    const res = await admin.post<{ errors: Array<{ field: string }> }>('/v1/jobs', {
      name: 'x',
      namespace: 'Team B',
      executor: { type: 'noop' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e) => e.field)).toContain('namespace');
  });
});

describe('alerts and scheduler statistics', () => {
  it("name another namespace's jobs to no one but that namespace and admins", async () => {
    const stuck = (
      await teamB.post<Job>('/v1/jobs', {
        name: 'stuck',
        namespace: 'team-b',
        executor: { type: 'noop' },
        constraints: [{ attribute: 'label.region', operator: '=', value: 'nowhere' }],
      })
    ).body;
    await teamB.post(`/v1/jobs/${stuck.id}/runs`);
    type Alerts = { unplaceable: Array<{ jobId: string }> };
    await waitFor(
      async () => ((await admin.get<Alerts>('/v1/alerts')).body.unplaceable.some((u) => u.jobId === stuck.id) ? true : undefined),
      {
        description: "the admin's alerts to name the unplaceable job",
      },
    );
    expect((await teamB.get<Alerts>('/v1/alerts')).body.unplaceable.map((u) => u.jobId)).toContain(stuck.id);
    expect((await teamA.get<Alerts>('/v1/alerts')).body.unplaceable).toEqual([]);
    expect((await teamA.get('/v1/scheduler/stats')).status).toBe(200);
  });
});

describe('agents and the fleet', () => {
  it('are cluster-wide: readable by any read role', async () => {
    const viewer = await tokenFor('viewer', ['team-a']);
    expect((await viewer.get<Page<unknown>>('/v1/agents')).body.items.length).toBe(1);
    expect((await viewer.get('/v1/fleet')).status).toBe(200);
  });
});

describe('drain and cordon', () => {
  it('need a token holding every namespace the agent serves; an agent of any namespace needs all namespaces', async () => {
    type Agent = { id: string; state: string; namespaces: string[] | null };
    const unrestricted = (await admin.get<Page<Agent>>('/v1/agents')).body.items[0] as Agent;
    expect(unrestricted.namespaces).toBeNull();
    const agentB = await startAgent(env, { name: 'agent-b', env: { DROVER_JOIN_TOKEN: await createJoinToken(admin, ['team-b']) } });
    for (const action of ['drain', 'cordon', 'uncordon']) {
      const other = await teamA.post<{ detail: string }>(`/v1/agents/${agentB.agentId}/${action}`, {});
      expect(other.status, JSON.stringify(other.body)).toBe(403);
      expect(other.body.detail).toMatch(/serves namespace\(s\) team-b, which this token does not hold \(it holds team-a\)/);
      const shared = await teamB.post<{ detail: string }>(`/v1/agents/${unrestricted.id}/${action}`, {});
      expect(shared.status, JSON.stringify(shared.body)).toBe(403);
      expect(shared.body.detail).toMatch(/serves every namespace/);
    }
    expect((await admin.get<Agent>(`/v1/agents/${agentB.agentId}`)).body.state).toBe('ready');
    expect((await admin.get<Agent>(`/v1/agents/${unrestricted.id}`)).body.state).toBe('ready');
    // Its own namespace's agent: team B may cordon it, and an admin any agent.
    expect((await teamB.post<Agent>(`/v1/agents/${agentB.agentId}/cordon`, {})).body.state).toBe('cordoned');
    expect((await teamB.post<Agent>(`/v1/agents/${agentB.agentId}/uncordon`, {})).body.state).toBe('ready');
    expect((await admin.post<Agent>(`/v1/agents/${unrestricted.id}/cordon`, {})).body.state).toBe('cordoned');
    expect((await admin.post<Agent>(`/v1/agents/${unrestricted.id}/uncordon`, {})).body.state).toBe('ready');
    await agentB.stop();
  });
});
