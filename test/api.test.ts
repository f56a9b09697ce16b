// The REST API against a real coordinator process (PostgreSQL, Redis, NATS), no agents:
// definitions are accepted or refused with a field-naming 400, runs queue with a reason.
import { describe, expect, it } from 'vitest';
import { useCluster, waitFor, type Problem, type Run } from './support/index.js';

const nightlyReport = {
  name: 'nightly-report',
  executor: { type: 'exec', command: ['python3', 'report.py'], env: { MODE: 'full' }, cwd: '/srv/reports' },
  constraints: [
    { attribute: 'label.region', operator: '=', value: 'eu' },
    { attribute: 'memory.bytes', operator: '>=', value: '1GiB' },
  ],
  resources: { cpu: 0.5, memory: '256MiB' },
  timeout: '1h',
  priority: 50,
};

interface Page<T> {
  items: T[];
  total: number;
  nextCursor: string | null;
}

const { client } = useCluster();

describe('jobs', () => {
  it('accepts the nightly-report definition exactly as written and serves it back', async () => {
    const created = await client.post<{ id: string; name: string }>('/v1/jobs', nightlyReport);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/jobs/${created.body.id}`);
    const got = await client.get<Record<string, unknown>>(`/v1/jobs/${created.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject(nightlyReport);
    const byName = await client.get<{ id: string }>('/v1/jobs/nightly-report');
    expect(byName.body.id).toBe(created.body.id);
  });

  it.each([
    ['a bad operator', { constraints: [{ attribute: 'label.region', operator: '~=', value: 'eu' }] }, 'constraints.0.operator'],
    ['an unknown executor', { executor: { type: 'docker', image: 'x' } }, 'executor.type'],
    ['a negative cpu', { resources: { cpu: -1 } }, 'resources.cpu'],
    ['a missing command', { executor: { type: 'exec' } }, 'executor.command'],
    ['a misspelt field', { timout: '1h' }, 'timout'],
    ['a bad duration', { timeout: 'soon' }, 'timeout'],
  ])('refuses a job with %s with a 400 naming %s, and creates nothing', async (_what, change, field) => {
    const before = await client.get<Page<unknown>>('/v1/jobs');
    const res = await client.post<Problem>('/v1/jobs', { ...nightlyReport, name: `bad-${field.replace(/\W/g, '')}`, ...change });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors?.map((e) => e.field)).toContain(field);
    expect(res.body.detail).toContain(field);
    const after = await client.get<Page<unknown>>('/v1/jobs');
    expect(after.body.total).toBe(before.body.total);
  });

  it('refuses a second live job with the same name with a 409', async () => {
    const res = await client.post<Problem>('/v1/jobs', nightlyReport);
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain('nightly-report');
  });

  it('changes a job by JSON merge patch, validating the result', async () => {
    const job = (await client.post<{ id: string }>('/v1/jobs', { name: 'patch-me', executor: { type: 'noop' }, priority: 10 })).body;
    const ok = await client.patch<{ priority: number; description: string }>(`/v1/jobs/${job.id}`, {
      priority: 90,
      description: 'now urgent',
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ priority: 90, description: 'now urgent' });
    const bad = await client.patch<Problem>(`/v1/jobs/${job.id}`, { priority: 500 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors?.[0]?.field).toBe('priority');
    expect((await client.get<{ priority: number }>(`/v1/jobs/${job.id}`)).body.priority).toBe(90);
  });

  it('answers 404 with a hint for an unknown job', async () => {
    const res = await client.get<Problem>('/v1/jobs/01NOSUCHJOB');
    expect(res.status).toBe(404);
    expect(res.body.detail).toContain('GET /v1/jobs');
  });
});

describe('runs', () => {
  it('queues a triggered run with its parameters and says why it waits', async () => {
    const job = (
      await client.post<{ id: string }>('/v1/jobs', {
        name: 'waits',
        executor: { type: 'noop' },
        constraints: [{ attribute: 'label.region', operator: '=', value: 'eu' }],
      })
    ).body;
    const res = await client.post<Run>(`/v1/jobs/${job.id}/runs`, { parameters: { DAY: '2026-11-21' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ jobId: job.id, state: 'queued', parameters: { DAY: '2026-11-21' } });
    const run = await waitFor(
      async () => {
        const r = (await client.get<Run>(`/v1/runs/${res.body.id}`)).body;
        return r.queueReason ? r : undefined;
      },
      { description: 'a queue reason' },
    );
    expect(run.state).toBe('queued');
    expect(run.queueReason).toBe('no agent is connected');
    expect(run.transitions?.map((t) => t.to)).toEqual(['queued']);
  });

  it('enqueues a batch of runs for several jobs and pages through them with a total', async () => {
    const a = (await client.post<{ id: string }>('/v1/jobs', { name: 'batch-a', executor: { type: 'noop' } })).body;
    const b = (await client.post<{ id: string }>('/v1/jobs', { name: 'batch-b', executor: { type: 'noop' } })).body;
    const res = await client.post<{ count: number; runs: Array<{ id: string; jobId: string }> }>('/v1/runs/batch', {
      runs: [
        { job: a.id, count: 2500 },
        { job: 'batch-b', parameters: { N: '1' } },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.body.count).toBe(2501);
    expect(res.body.runs.filter((r) => r.jobId === b.id)).toHaveLength(1);
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: Page<Run> = (
        await client.get<Page<Run>>(`/v1/runs?job=batch-a&status=queued&limit=1000${cursor ? `&cursor=${cursor}` : ''}`)
      ).body;
      expect(page.total).toBe(2500);
      for (const r of page.items) seen.add(r.id);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.size).toBe(2500);
  });

  it('refuses a batch over 10,000 runs, or naming an unknown job, and creates nothing', async () => {
    const before = (await client.get<Page<Run>>('/v1/runs?limit=1')).body.total;
    const tooMany = await client.post<Problem>('/v1/runs/batch', {
      runs: [
        { job: 'batch-a', count: 6000 },
        { job: 'batch-b', count: 4001 },
      ],
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors?.[0]?.field).toBe('runs');
    const unknown = await client.post<Problem>('/v1/runs/batch', { runs: [{ job: 'batch-a' }, { job: 'no-such-job' }] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.[0]?.field).toBe('runs.1.job');
    expect((await client.get<Page<Run>>('/v1/runs?limit=1')).body.total).toBe(before);
  });

  it('names a misspelt field of a trigger, a batch or a query', async () => {
    const job = (await client.post<{ id: string }>('/v1/jobs', { name: 'misspelt', executor: { type: 'noop' } })).body;
    const trigger = await client.post<Problem>(`/v1/jobs/${job.id}/runs`, { parametres: { A: '1' } });
    expect(trigger.status).toBe(400);
    expect(trigger.body.errors?.[0]?.field).toBe('parametres');
    const batch = await client.post<Problem>('/v1/runs/batch', { runs: [{ job: 'misspelt', cuont: 2 }] });
    expect(batch.status).toBe(400);
    expect(batch.body.errors?.[0]?.field).toBe('runs.0.cuont');
    const query = await client.get<Problem>('/v1/runs?stauts=queued');
    expect(query.status).toBe(400);
    expect(query.body.errors?.[0]?.field).toBe('stauts');
  });

  it('refuses an unknown status filter with a 400 naming it', async () => {
    const res = await client.get<Problem>('/v1/runs?status=queued,exploded');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]).toMatchObject({ field: 'status' });
    expect(res.body.detail).toContain('exploded');
  });

  it('cancels the queued runs of a deleted job and keeps their history', async () => {
    const job = (
      await client.post<{ id: string }>('/v1/jobs', {
        name: 'doomed',
        executor: { type: 'noop' },
        constraints: [{ attribute: 'gpu.count', operator: '>=', value: 8 }],
      })
    ).body;
    const run = (await client.post<Run>(`/v1/jobs/${job.id}/runs`)).body;
    expect((await client.del(`/v1/jobs/${job.id}`)).status).toBe(204);
    expect((await client.get(`/v1/jobs/${job.id}`)).status).toBe(404);
    const after = (await client.get<Run>(`/v1/runs/${run.id}`)).body;
    expect(after.state).toBe('cancelled');
    expect(after.transitions?.map((t) => t.to)).toEqual(['queued', 'cancelled']);
  });
});

describe('service endpoints', () => {
  it('serves an OpenAPI document listing every endpoint', async () => {
    const doc = (await client.get<{ openapi: string; paths: Record<string, Record<string, unknown>> }>('/openapi.json')).body;
    expect(doc.openapi).toMatch(/^3\./);
    for (const [path, method] of [
      ['/v1/jobs', 'post'],
      ['/v1/jobs', 'get'],
      ['/v1/jobs/{id}', 'get'],
      ['/v1/jobs/{id}', 'patch'],
      ['/v1/jobs/{id}', 'delete'],
      ['/v1/jobs/{id}/runs', 'post'],
      ['/v1/runs/batch', 'post'],
      ['/v1/runs', 'get'],
      ['/v1/runs/{id}', 'get'],
      ['/v1/runs/{id}/logs', 'get'],
      ['/v1/agents', 'get'],
      ['/v1/agents/{id}', 'get'],
      ['/healthz', 'get'],
      ['/readyz', 'get'],
    ] as const) {
      expect(doc.paths[path]?.[method], `${method.toUpperCase()} ${path}`).toBeDefined();
    }
  });

  it('reports health and readiness of PostgreSQL, Redis and NATS', async () => {
    expect((await client.get('/healthz')).status).toBe(200);
    const ready = await client.get<{ status: string; checks: Record<string, { ok: boolean }> }>('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({
      postgres: { ok: true },
      queue: { ok: true, backend: expect.stringMatching(/^redis:\/\//) },
      nats: { ok: true },
    });
  });

  it('answers an unknown route with a problem pointing at the OpenAPI document', async () => {
    const res = await client.get<Problem>('/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.detail).toContain('/openapi.json');
  });
});
