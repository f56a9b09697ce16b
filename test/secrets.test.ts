// Secrets end to end: set through the API, referred to by a job, handed to the run's process
// (which proves it saw the value), and then searched for everywhere a user or an operator could
// look — every API response, every table of the database, the coordinator's and the agent's
// own log lines — and found nowhere. Also what happens with no key, a bad key and the wrong key.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  runHelpers,
  spawnDrover,
  startAgent,
  startCoordinator,
  type ApiClient,
  type Problem,
  type StartedAgent,
  type StartedCoordinator,
  type TestEnv,
} from './support/index.js';

// Distinctive, with characters a naive masker or a shell would trip on.
const SECRET = `s3cr3t-${randomBytes(8).toString('hex')}-$(id);'"`;
const OTHER_SECRET = `other-${randomBytes(8).toString('hex')}`;
const KEY = randomBytes(32).toString('hex');

let env: TestEnv;
let coordinator: StartedCoordinator;
let agent: StartedAgent;
let client: ApiClient;
let h: ReturnType<typeof runHelpers>;
let scratch: string;
/** Every response body the test saw, to search at the end. */
const seen: string[] = [];

async function get<T>(path: string): Promise<T> {
  const res = await client.get<T>(path);
  expect(res.status, `GET ${path}: ${JSON.stringify(res.body)}`).toBe(200);
  seen.push(`GET ${path} ${JSON.stringify(res.body)}`);
  return res.body;
}

beforeAll(async () => {
  env = await createTestEnv();
  scratch = mkdtempSync(join(tmpdir(), 'drover-secrets-'));
  env.onCleanup(() => rmSync(scratch, { recursive: true, force: true }));
  // Debug level: the most a coordinator or agent ever writes about an offer.
  coordinator = await startCoordinator(env, [], { env: { DROVER_SECRETS_KEY: KEY, DROVER_LOG_LEVEL: 'debug' } });
  agent = await startAgent(env, { env: { DROVER_LOG_LEVEL: 'debug' } });
  client = api(coordinator.url);
  h = runHelpers(client);
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
});

describe('secrets', () => {
  it('are set (201, then 204), listed without their values, and never readable back', async () => {
    const created = await client.request('PUT', '/v1/secrets/api-token', { value: 'first value' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: 'api-token', namespace: 'default' });
    const replaced = await client.request('PUT', '/v1/secrets/api-token', { value: SECRET });
    expect(replaced.status).toBe(204);
    expect((await client.request('PUT', '/v1/secrets/other', { value: OTHER_SECRET, namespace: 'default' })).status).toBe(201);
    const list = await get<{ items: Array<Record<string, unknown>> }>('/v1/secrets');
    expect(list.items.map((s) => s.name)).toEqual(['api-token', 'other']);
    for (const s of list.items) expect(Object.keys(s).sort()).toEqual(['createdAt', 'name', 'namespace', 'updatedAt']);
    // There is no route that reads a value.
    expect((await client.get('/v1/secrets/api-token')).status).toBe(404);
  });

  it('drover secrets set (from a file, never the command line), ls and rm', async () => {
    const file = join(scratch, 'cli-value');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, `${OTHER_SECRET}\n`, { mode: 0o600 });
    const cli = async (...args: string[]) => {
      const p = spawnDrover(env, [...args, '--addr', coordinator.url], { name: `drover ${args.slice(0, 2).join(' ')}` });
      const status = await p.exited;
      return { code: status.code, out: p.lines.map((l) => l.text).join('\n') };
    };
    expect(await cli('secrets', 'set', 'from-cli', '--from-file', file)).toEqual({
      code: 0,
      out: 'secret from-cli created in namespace default',
    });
    const ls = await cli('secrets', 'ls');
    expect(ls.out).toMatch(/^NAMESPACE\s+NAME\s+UPDATED\s+CREATED\n/);
    expect(ls.out).toMatch(/\ndefault\s+from-cli\s/);
    expect(ls.out).not.toContain(OTHER_SECRET);
    expect(await cli('secrets', 'rm', 'from-cli')).toEqual({ code: 0, out: 'secret from-cli deleted from namespace default' });
    expect((await cli('secrets', 'rm', 'from-cli')).out).toContain('no secret "from-cli" in namespace "default"');
  });

  it('refuses bad names and bodies, naming the field', async () => {
    const badName = await client.request<Problem>('PUT', '/v1/secrets/..%2Fx', { value: 'v' });
    expect(badName.status).toBe(400);
    const noValue = await client.request<Problem>('PUT', '/v1/secrets/x', { namespace: 'default' });
    expect(noValue.status).toBe(400);
    expect(noValue.body.detail).toMatch(/value/);
  });

  it('refuses a job that refers to a secret missing from its namespace, naming the env variable', async () => {
    const res = await client.post<Problem>('/v1/jobs', {
      name: 'missing-secret',
      executor: { type: 'exec', command: ['true'], env: { TOKEN: { secret: 'api-token' }, NOPE: { secret: 'no-such-secret' } } },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      {
        field: 'executor.env.NOPE',
        message: 'no secret "no-such-secret" in namespace "default"; set it first with PUT /v1/secrets/no-such-secret',
      },
    ]);
    const shape = await client.post<Problem>('/v1/jobs', {
      name: 'bad-ref',
      executor: { type: 'exec', command: ['true'], env: { TOKEN: { secret: 'a', value: 'x' } } },
    });
    expect(shape.status).toBe(400);
    expect(shape.body.detail).toMatch(/executor\.env\.TOKEN/);
  });

  it("reach the run's process, and nowhere else: API responses, log chunks, the database, the processes' logs", async () => {
    const out = join(scratch, 'seen-by-the-job');
    const jobId = await h.createJob({
      name: 'uses-secret',
      executor: {
        type: 'exec',
        // Prints the value on both streams (split across writes, too), and keeps a copy the test reads.
        command: [
          'sh',
          '-c',
          'printf "%s" "$TOKEN" > "$1"; echo "token=$TOKEN"; head="${TOKEN%????????}"; printf "%s" "$head"; sleep 0.1; echo "${TOKEN#"$head"}"; echo "$TOKEN and $OTHER" >&2; echo "plain=$PLAIN"; exit 3',
          'sh',
          out,
        ],
        env: { TOKEN: { secret: 'api-token' }, OTHER: { secret: 'other' }, PLAIN: 'not secret' },
      },
    });
    const runId = await h.trigger(jobId);
    const run = await h.waitForRun(runId);
    expect(run.state, JSON.stringify(run)).toBe('failed');
    // The process saw the real value.
    expect(readFileSync(out, 'utf8')).toBe(SECRET);
    // Its output, as stored and served, has it masked.
    const logs = await get<{ items: Array<{ stream: string; data: string }> }>(`/v1/runs/${runId}/logs?limit=1000`);
    const text = (stream: string) =>
      logs.items
        .filter((c) => c.stream === stream)
        .map((c) => c.data)
        .join('');
    expect(text('stdout')).toBe('token=***\n***\nplain=not secret\n');
    expect(text('stderr')).toBe('*** and ***\n');

    // Everything the API says about it.
    const job = await get<{ executor: { env: Record<string, unknown> } }>(`/v1/jobs/${jobId}`);
    expect(job.executor.env).toEqual({ TOKEN: { secret: 'api-token' }, OTHER: { secret: 'other' }, PLAIN: 'not secret' });
    await get(`/v1/jobs`);
    await get(`/v1/runs/${runId}`);
    await get(`/v1/runs?job=${jobId}`);
    await get(`/v1/runs/${runId}/logs?limit=1000`);
    await get(`/v1/dead-letters?status=open`);
    await get(`/v1/audit?limit=1000`);
    await get(`/v1/secrets`);
    await get(`/v1/agents`);
    for (const body of seen) {
      expect(body).not.toContain(SECRET);
      expect(body).not.toContain(OTHER_SECRET);
    }

    // Every table, every row, as text (the secrets table holds only ciphertext).
    const db = new pg.Client({ connectionString: env.databaseUrl });
    await db.connect();
    try {
      const tables = (await db.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`)).rows;
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['run_logs', 'runs', 'jobs', 'audit_log', 'secrets']));
      for (const { name } of tables) {
        for (const value of [SECRET, OTHER_SECRET]) {
          const hits = await db.query(`SELECT 1 FROM ${db.escapeIdentifier(name)} t WHERE strpos(t::text, $1) > 0 LIMIT 1`, [value]);
          expect(hits.rowCount, `table ${name} holds a secret value`).toBe(0);
        }
      }
      const sealed = await db.query<{ hit: number }>(
        `SELECT count(*)::int AS hit FROM secrets WHERE position($1::bytea IN ciphertext) > 0`,
        [Buffer.from(SECRET)],
      );
      expect(sealed.rows[0]?.hit).toBe(0);
      const chunks = await db.query<{ data: string }>(`SELECT data FROM run_logs WHERE run_id = $1 ORDER BY seq`, [runId]);
      expect(chunks.rows.map((r) => r.data).join('')).toContain('token=***');
    } finally {
      await db.end();
    }

    // What the coordinator and the agent wrote about it, at debug level.
    expect(agent.proc.lines.some((l) => l.json?.msg === 'attempt finished')).toBe(true);
    for (const proc of [coordinator.proc, agent.proc])
      for (const line of proc.lines) {
        expect(line.text, `${proc.name} logged a secret`).not.toContain(SECRET);
        expect(line.text, `${proc.name} logged a secret`).not.toContain(OTHER_SECRET);
      }
  });

  it('a run whose secret was deleted waits, queued, saying which one; setting it again lets it run', async () => {
    const jobId = await h.createJob({
      name: 'needs-other',
      executor: { type: 'exec', command: ['true'], env: { X: { secret: 'other' } } },
    });
    expect((await client.del('/v1/secrets/other')).status).toBe(204);
    expect((await client.del('/v1/secrets/other')).status).toBe(404);
    const runId = await h.trigger(jobId);
    const waiting = await h.waitForRun(runId, (r) => r.queueReason !== null);
    expect(waiting.state).toBe('queued');
    expect(waiting.queueReason).toBe(
      'secret "other" (executor.env.X) does not exist in namespace "default": set it with PUT /v1/secrets/other',
    );
    expect((await client.request('PUT', '/v1/secrets/other', { value: OTHER_SECRET })).status).toBe(201);
    expect((await h.waitForRun(runId)).state).toBe('succeeded');
  });

  it('without a key: setting one is a 409 that says how to configure it, and jobs that use secrets wait with the reason', async () => {
    const jobId = await h.createJob({
      name: 'needs-key',
      executor: { type: 'exec', command: ['true'], env: { X: { secret: 'api-token' } } },
    });
    await coordinator.stop();
    const keyless = await startCoordinator(env);
    const c = api(keyless.url);
    const put = await c.request<Problem>('PUT', '/v1/secrets/x', { value: 'v' });
    expect(put.status).toBe(409);
    expect(put.body.detail).toMatch(/no secrets key.*DROVER_SECRETS_KEY.*openssl rand -hex 32/);
    await keyless.proc.waitForLog('took the dispatcher lease', 30_000);
    const runId = (await c.post<{ id: string }>(`/v1/jobs/${jobId}/runs`, {})).body.id;
    const waiting = await runHelpers(c).waitForRun(runId, (r) => r.queueReason !== null);
    expect(waiting.queueReason).toMatch(
      /uses secrets, and this coordinator has no secrets key: start the coordinators with DROVER_SECRETS_KEY/,
    );
    await keyless.stop();
  });

  it('a malformed key stops the coordinator naming the setting; the wrong key, naming both key ids', async () => {
    const bad = spawnDrover(env, ['coordinator', '--api-addr', '127.0.0.1:0', '--insecure'], { env: { DROVER_SECRETS_KEY: 'not-a-key' } });
    expect((await bad.exited).code).not.toBe(0);
    expect(bad.tail()).toMatch(
      /invalid DROVER_SECRETS_KEY \(--secrets-key\): must be a 32-byte key as 64 hex digits or 44 base64 characters/,
    );
    const wrong = spawnDrover(env, ['coordinator', '--api-addr', '127.0.0.1:0', '--insecure'], {
      env: { DROVER_SECRETS_KEY: randomBytes(32).toString('hex') },
    });
    expect((await wrong.exited).code).not.toBe(0);
    expect(wrong.tail()).toMatch(
      /the secrets key \(DROVER_SECRETS_KEY.*\) has id k1:[0-9a-f]{16}, but \d+ stored secret\(s\) were encrypted with key k1:[0-9a-f]{16}/,
    );
    // The right key from a file works.
    const file = join(scratch, 'key');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, `${KEY}\n`, { mode: 0o600 });
    const right = await startCoordinator(env, ['--secrets-key-file', file]);
    expect(right.proc.lines.some((l) => l.json?.msg === 'secrets key loaded')).toBe(true);
    await right.stop();
  });
});

describe('secrets and namespaces, with API tokens', () => {
  it('a token sets, lists and uses secrets of its own namespaces only; viewers list but cannot set', async () => {
    const authEnv = await createTestEnv();
    try {
      const c = await startCoordinator(authEnv, { auth: true, env: { DROVER_SECRETS_KEY: KEY } });
      const admin = api(c.url, { token: c.token });
      const tokenFor = async (role: string, namespaces: string[]) => {
        const res = await admin.post<{ token: string }>('/v1/tokens', { role, namespaces });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return api(c.url, { token: res.body.token });
      };
      const teamA = await tokenFor('operator', ['team-a']);
      const viewer = await tokenFor('viewer', ['team-a']);
      expect((await teamA.request('PUT', '/v1/secrets/db-password', { value: SECRET, namespace: 'team-a' })).status).toBe(201);
      expect((await admin.request('PUT', '/v1/secrets/db-password', { value: OTHER_SECRET })).status).toBe(201);
      const elsewhere = await teamA.request<Problem>('PUT', '/v1/secrets/x', { value: 'v' });
      expect(elsewhere.status).toBe(403);
      expect(elsewhere.body.detail).toMatch(/may not touch namespace "default"/);
      expect((await teamA.del('/v1/secrets/db-password')).status).toBe(403);
      expect((await viewer.request('PUT', '/v1/secrets/y', { value: 'v', namespace: 'team-a' })).status).toBe(403);
      const listed = await viewer.get<{ items: Array<{ name: string; namespace: string }> }>('/v1/secrets');
      expect(listed.body.items.map((i) => `${i.namespace}/${i.name}`)).toEqual(['team-a/db-password']);
      const all = await admin.get<{ items: Array<{ name: string; namespace: string }> }>('/v1/secrets');
      expect(all.body.items.map((i) => `${i.namespace}/${i.name}`)).toEqual(['default/db-password', 'team-a/db-password']);
      // A job sees the secrets of its own namespace only.
      const job = { name: 'j', executor: { type: 'exec', command: ['true'], env: { P: { secret: 'db-password' } } } };
      const own = await teamA.post<{ id: string }>('/v1/jobs', { ...job, namespace: 'team-a' });
      expect(own.status).toBe(201);
      // Another namespace's secrets are no oracle: a present and a missing one answer the same 403.
      expect((await admin.request('PUT', '/v1/secrets/b-password', { value: 'b', namespace: 'team-b' })).status).toBe(201);
      const refusals = [];
      for (const secret of ['b-password', 'no-such-secret']) {
        const env = { P: { secret } };
        refusals.push(await teamA.post<Problem>('/v1/jobs', { name: 'probe', namespace: 'team-b', executor: { ...job.executor, env } }));
        refusals.push(await teamA.patch<Problem>(`/v1/jobs/${own.body.id}`, { namespace: 'team-b', executor: { env } }));
      }
      for (const r of refusals)
        expect({ status: r.status, detail: r.body.detail }).toEqual({ status: 403, detail: refusals[0]?.body.detail });
      expect(refusals[0]?.body.detail).toMatch(/may not put jobs in namespace team-b/);
      expect((await admin.request('DELETE', '/v1/secrets/db-password?namespace=team-a')).status).toBe(204);
      const missing = await admin.post<Problem>('/v1/jobs', { ...job, name: 'k', namespace: 'team-a' });
      expect(missing.body.errors).toEqual([
        {
          field: 'executor.env.P',
          message: 'no secret "db-password" in namespace "team-a"; set it first with PUT /v1/secrets/db-password',
        },
      ]);
      // Nothing of either value in the audit log.
      const audit = await admin.get('/v1/audit?limit=1000');
      expect(audit.status).toBe(200);
      expect(JSON.stringify(audit.body)).not.toContain(SECRET);
      expect(JSON.stringify(audit.body)).not.toContain(OTHER_SECRET);
      expect(JSON.stringify(audit.body)).toContain('/v1/secrets/:name');
    } finally {
      await authEnv.cleanup();
    }
  });
});
