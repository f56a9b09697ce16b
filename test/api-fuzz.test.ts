// Property-based fuzzing of every operation of the served OpenAPI document, against a real
// coordinator (PostgreSQL, Redis, NATS). Requests are generated with a fixed seed: valid ones
// from the schemas, and hostile ones (NUL, Infinity, 1e309, long strings, deep nesting, wrong
// types, bad percent-encoding, odd methods and headers). Whatever is sent: no 5xx, every error
// is an application/problem+json with a known `code` and a title that agrees with its status,
// every request is answered, and a refused request changes nothing (spot-checked).
// Reproduce a failure with FUZZ_SEED=<seed printed> (and FUZZ_RUNS to send more or fewer).
import { STATUS_CODES, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { API_ERROR_CODES } from '@drover/shared';
import { api, createTestEnv, startCoordinator, type ApiClient, type TestEnv } from './support/index.js';
import { operationsOf, requestsOf, type FuzzRequest, type OpenApiDoc } from './support/openapi-requests.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
/** Requests per operation: ~9000 in all, 125 s on 2 cores busy with other suites, much less idle. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/** Requests in flight at once. */
const CONCURRENCY = 8;
/** One mutating request in this many is sent alone and the state compared before and after. */
const SPOT_CHECK_EVERY = 8;
/** A request unanswered this long is a hang (the API's own request timeout is 10 s). */
const ANSWER_WITHIN_MS = 8_000;
/** Problem titles follow RFC 9110's reason phrases, where Node still has the older ones. */
const TITLES: Record<number, string> = { ...STATUS_CODES, 413: 'Content Too Large', 422: 'Unprocessable Content' } as Record<
  number,
  string
>;

interface Answer {
  status: number;
  type: string;
  text: string;
}

/** Sends `r` as is (its path already encoded, rightly or not); an error when it is not answered in time. */
function send(base: URL, r: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { ...r.headers, ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body)) } : {}) };
    const req = request({ host: base.hostname, port: base.port, method: r.method, path: r.path, headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${ANSWER_WITHIN_MS} ms`));
    }, ANSWER_WITHIN_MS);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const type = String(res.headers['content-type'] ?? '');
      // A follow stream stays open by design: its headers are the answer.
      if (res.statusCode! < 400 && /event-stream|ndjson/.test(type)) {
        clearTimeout(timer);
        res.destroy();
        req.destroy();
        return resolve({ status: res.statusCode!, type, text: '' });
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode!, type, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(r.body);
  });
}

/** Sends `r`; its answer and what is wrong with it, if anything. */
async function exchange(r: FuzzRequest): Promise<{ answer?: Answer; defect?: string }> {
  try {
    const answer = await send(base, r);
    return { answer, defect: defectOf(r, answer) };
  } catch (err) {
    return { defect: (err as Error).message };
  }
}

const isMutating = (r: FuzzRequest) => !['GET', 'HEAD', 'OPTIONS', 'TRACE'].includes(r.method);

/** What is wrong with this answer, if anything. */
function defectOf(r: FuzzRequest, a: Answer): string | undefined {
  if (a.status >= 500) return `answered ${a.status}`;
  if (a.status < 400 || r.method === 'HEAD') return undefined;
  if (!a.type.startsWith('application/problem+json')) return `a ${a.status} of type ${a.type || 'none'}, not application/problem+json`;
  let p: { status?: unknown; title?: unknown; code?: unknown; detail?: unknown };
  try {
    p = JSON.parse(a.text) as typeof p;
  } catch {
    return `a ${a.status} problem that is not JSON`;
  }
  if (p.status !== a.status) return `a ${a.status} whose problem says status ${String(p.status)}`;
  if (p.title !== TITLES[a.status]) return `a ${a.status} titled ${JSON.stringify(p.title)}`;
  if (typeof p.detail !== 'string' || p.detail === '') return `a ${a.status} problem without a detail`;
  if (!(API_ERROR_CODES as readonly unknown[]).includes(p.code))
    return `a ${a.status} problem with code ${JSON.stringify(p.code)}, not in API_ERROR_CODES`;
  return undefined;
}

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
const show = (r: FuzzRequest) =>
  `${r.method} ${clip(r.path)}\n    headers ${clip(JSON.stringify(r.headers), 200)}${r.body !== undefined ? `\n    body ${clip(JSON.stringify(r.body))}` : ''}`;

let env: TestEnv;
let client: ApiClient;
let base: URL;
let token: string;
/** Ids substituted for FIXTURE_<name> at send time: they change when a fuzzed request deletes one. */
const fixtures = new Map<string, string>();

/** Creates what the fixtures name, again when a request deleted or revoked one. */
async function ensureFixtures(): Promise<void> {
  const job = await client.get<{ id: string }>('/v1/jobs/fuzz-job');
  let recreated = false;
  if (job.status !== 200) {
    const created = await client.post<{ id: string }>('/v1/jobs', { name: 'fuzz-job', executor: { type: 'exec', command: ['true'] } });
    expect(created.status).toBe(201);
    fixtures.set('job', created.body.id);
    recreated = true;
  } else fixtures.set('job', job.body.id);
  if (recreated || !fixtures.has('run')) {
    const run = await client.post<{ id: string }>(`/v1/jobs/${fixtures.get('job')}/runs`, {});
    fixtures.set('run', run.body.id);
  }
  const tokens = await client.get<{ items: Array<{ id: string; name: string; revokedAt: string | null }> }>('/v1/tokens');
  const spare = tokens.body.items.find((t) => t.name === 'fuzz-spare' && t.revokedAt === null);
  if (spare) fixtures.set('token', spare.id);
  else {
    const created = await client.post<{ id: string }>('/v1/tokens', { name: 'fuzz-spare', role: 'viewer', namespaces: ['default'] });
    fixtures.set('token', created.body.id);
  }
  await client.request('PUT', '/v1/secrets/fuzz-secret', { value: 'hunter2' });
  fixtures.set('secret', 'fuzz-secret');
}

/** What a refused request must leave as it was: jobs and their versions, tokens, secrets. */
async function stateOf(): Promise<string> {
  const [jobs, tokens, secrets] = await Promise.all([
    client.get<{ items: Array<{ id: string; version: number }> }>('/v1/jobs?limit=1000'),
    client.get<{ items: Array<{ id: string; revokedAt: string | null }> }>('/v1/tokens'),
    client.get<unknown>('/v1/secrets'),
  ]);
  return JSON.stringify([
    jobs.body.items.map((j) => `${j.id}@${j.version}`),
    tokens.body.items.map((t) => `${t.id}@${t.revokedAt}`),
    secrets.body,
  ]);
}

/** The fixture a path parameter of `path` gets: the job, run, token or secret the path is about. */
function fixtureOf(path: string, name: string): string | undefined {
  if (path.startsWith('/v1/jobs/')) return 'job';
  if (path.startsWith('/v1/runs/') || path.startsWith('/v1/dead-letters/')) return 'run';
  if (path.startsWith('/v1/tokens/')) return 'token';
  if (path.startsWith('/v1/secrets/')) return 'secret';
  return name === 'runId' ? 'run' : undefined;
}

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env, ['--rate-limit', '0'], { auth: true });
  token = coordinator.token!;
  base = new URL(coordinator.url);
  client = api(coordinator.url, { token });
  await ensureFixtures();
});
afterAll(async () => {
  await env?.cleanup();
});

describe('the API under generated requests', () => {
  it(
    'answers every request of every operation, errors as problems with a known code, and changes nothing it refuses',
    { timeout: 600_000 },
    async () => {
      const doc = (await client.get<OpenApiDoc>('/openapi.json')).body;
      const operations = operationsOf(doc);
      expect(operations.length).toBeGreaterThan(30);
      const defects: string[] = [];
      const sent = new Map<string, number>();
      let spotChecks = 0;
      for (const [i, operation] of operations.entries()) {
        const placeholders = Object.fromEntries(
          (operation.op.parameters ?? [])
            .filter((p) => p.in === 'path')
            .flatMap((p) => {
              const f = fixtureOf(operation.path, p.name);
              return f ? [[`${operation.path}:${p.name}`, [`FIXTURE_${f}`]]] : [];
            }),
        );
        const started = Date.now();
        const requests = fc.sample(requestsOf(doc, operation, placeholders, token), { seed: SEED + i, numRuns: RUNS });
        const note = (r: FuzzRequest, answer: Answer | undefined, defect: string | undefined) => {
          const name = `${operation.method} ${operation.path}`;
          sent.set(name, (sent.get(name) ?? 0) + 1);
          if (defect)
            defects.push(
              `${name} (FUZZ_SEED=${SEED}, operation ${i}): ${defect}\n  request ${show(r)}\n  answer ${clip(answer?.text ?? '')}`,
            );
        };
        // Requests go CONCURRENCY at a time; a spot-checked one alone, between two readings of the state.
        for (let at = 0; at < requests.length; at += CONCURRENCY) {
          const batch = requests.slice(at, at + CONCURRENCY).map((g) => ({
            ...g,
            path: g.path.replace(/FIXTURE_(\w+)/g, (_m, f: string) => encodeURIComponent(fixtures.get(f) ?? f)),
          }));
          const checked = batch.filter((r) => isMutating(r) && spotChecks++ % SPOT_CHECK_EVERY === 0);
          const answers = await Promise.all(batch.filter((r) => !checked.includes(r)).map(async (r) => ({ r, ...(await exchange(r)) })));
          for (const { r, answer, defect } of answers) note(r, answer, defect);
          let fixturesTouched = answers.some(({ r, answer }) => isMutating(r) && answer && answer.status < 300 && r.method !== 'POST');
          if (fixturesTouched) await ensureFixtures();
          for (const r of checked) {
            const before = await stateOf();
            const { answer, defect } = await exchange(r);
            let found = defect;
            if (answer && answer.status >= 300 && (await stateOf()) !== before)
              found ??= `a refused ${answer.status} changed jobs, tokens or secrets`;
            note(r, answer, found);
            fixturesTouched = !!answer && answer.status < 300 && r.method !== 'POST';
            if (fixturesTouched) await ensureFixtures();
          }
        }
        if (process.env.FUZZ_TIMINGS) console.log(`${Date.now() - started} ms ${operation.method} ${operation.path}`);
      }
      for (const [op, n] of sent) expect(n, op).toBe(RUNS);
      if (defects.length > 0) {
        // One example of each kind (operation and defect), with how often it was seen.
        const kinds = new Map<string, { n: number; example: string }>();
        for (const d of defects) {
          const kind = d.split('\n')[0]!.replace(/ \(FUZZ_SEED=\d+, operation \d+\)/, '');
          const seen = kinds.get(kind);
          if (seen) seen.n++;
          else kinds.set(kind, { n: 1, example: d });
        }
        console.error(
          `${defects.length} defects of ${kinds.size} kinds with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}:\n${[...kinds.values()].map((k) => `[${k.n}x] ${k.example}`).join('\n')}`,
        );
      }
      expect(defects.slice(0, 10)).toEqual([]);
    },
  );
});

describe('the inputs that once answered 500', () => {
  // Each is a 400 naming the field, before any query: PostgreSQL never sees a NUL or an Infinity.
  it.each([
    ['a NUL in a path id', 'GET', '/v1/jobs/a%00b', undefined, 'id'],
    ['a NUL in a query value', 'GET', '/v1/jobs?namespace=a%00', undefined, 'namespace'],
    [
      'a NUL in a JSON string',
      'POST',
      '/v1/jobs',
      { name: 'nul', executor: { type: 'exec', command: ['echo', 'a\u0000b'] } },
      'executor.command.1',
    ],
    ['a NUL in a JSON key', 'POST', '/v1/jobs/fuzz-job/runs', { parameters: { 'a\u0000': 'x' } }, 'parameters.a\u0000'],
    ['limit=Infinity', 'GET', '/v1/runs?limit=Infinity', undefined, 'limit'],
    ['limit=1e309', 'GET', '/v1/jobs?limit=1e309', undefined, 'limit'],
    ['attempt=Infinity', 'GET', '/v1/runs/FIXTURE_run/logs?attempt=Infinity', undefined, 'attempt'],
    ['a huge audit cursor', 'GET', `/v1/audit?cursor=${'9'.repeat(40)}`, undefined, 'cursor'],
    ['a deeply nested PATCH', 'PATCH', '/v1/jobs/fuzz-job', '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000), 'a'],
  ])('%s is a 400 naming the field', async (_what, method, path, body, field) => {
    const res = await client.request<{ code: string; errors: Array<{ field: string }> }>(
      method,
      path.replace('FIXTURE_run', fixtures.get('run')!),
      body,
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    // The deep PATCH is named by its outermost field, followed by the path down to the limit.
    expect(res.body.errors[0]!.field.startsWith(field), JSON.stringify(res.body)).toBe(true);
  });

  it('lists the tokens of a namespace', async () => {
    const res = await client.get<{ items: Array<{ name: string }> }>('/v1/tokens?namespace=default');
    expect(res.status).toBe(200);
    expect(res.body.items.map((t) => t.name)).toContain('fuzz-spare');
  });

  it('reaches a job by a name of the longest valid length, 200 characters', async () => {
    const name = `n${'x'.repeat(199)}`;
    expect((await client.post('/v1/jobs', { name, executor: { type: 'exec', command: ['true'] } })).status).toBe(201);
    const res = await client.get<{ name: string }>(`/v1/jobs/${name}`);
    expect(res.status).toBe(200);
    expect(res.body.name).toBe(name);
    expect((await client.del(`/v1/jobs/${name}`)).status).toBe(204);
  });

  it('tells the two 409s of a retry apart by code', async () => {
    const job = await client.post<{ id: string }>('/v1/jobs', { name: 'gone', executor: { type: 'exec', command: ['true'] } });
    const run = await client.post<{ id: string }>(`/v1/jobs/${job.body.id}/runs`, {});
    // No agent: the run stays queued, not finished.
    const queued = await client.post<{ code: string }>(`/v1/runs/${run.body.id}/retry`);
    expect([queued.status, queued.body.code]).toEqual([409, 'RUN_NOT_FINISHED']);
    // Deleting the job cancels its queued run: finished now, but with no job to run again.
    expect((await client.del(`/v1/jobs/${job.body.id}`)).status).toBe(204);
    const orphan = await client.post<{ code: string }>(`/v1/runs/${run.body.id}/retry`);
    expect([orphan.status, orphan.body.code]).toEqual([409, 'JOB_DELETED']);
  });
});
