// API authentication against real coordinator processes: tokens (shown once, stored hashed,
// revocable, expiring), the bootstrap token, the start-up refusals, --insecure, the body cap,
// the rate limit and the audit log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  api,
  bootstrapTokenOf,
  createTestEnv,
  spawnDrover,
  startCoordinator,
  type ApiClient,
  type StartedCoordinator,
  type TestEnv,
} from './support/index.js';

interface Problem {
  title: string;
  status: number;
  detail: string;
}
interface Token {
  id: string;
  name: string;
  role: string;
  namespaces: string[];
  revokedAt: string | null;
  expiresAt: string | null;
  token?: string;
}
interface AuditRecord {
  actor: string;
  role: string | null;
  namespace: string | null;
  action: string;
  target: string | null;
  outcome: string;
  status: number | null;
  detail: Record<string, unknown>;
}

const job = (name: string) => ({ name, executor: { type: 'noop' } });

let env: TestEnv;
let coordinator: StartedCoordinator;
let admin: ApiClient;
let anon: ApiClient;
let db: pg.Client;

async function createToken(body: Record<string, unknown>): Promise<Token & { token: string }> {
  const res = await admin.post<Token & { token: string }>('/v1/tokens', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function audit(query: string): Promise<AuditRecord[]> {
  const res = await admin.get<{ items: AuditRecord[] }>(`/v1/audit?${query}`);
  expect(res.status).toBe(200);
  return res.body.items;
}

beforeAll(async () => {
  env = await createTestEnv();
  coordinator = await startCoordinator(env, { auth: true });
  admin = api(coordinator.url, { token: coordinator.token });
  anon = api(coordinator.url);
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
}, 60_000);

afterAll(async () => {
  await db?.end();
  await env?.cleanup();
});

describe('without a usable token', () => {
  it('answers 401 with WWW-Authenticate and a problem saying what to send, and audits it without the token', async () => {
    const none = await anon.get<Problem>('/v1/jobs');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(none.body.detail).toMatch(/Authorization: Bearer/);

    const bogus = 'drv_not-a-real-token-0123456789';
    const bad = await anon.get<Problem>('/v1/runs', { token: bogus });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/invalid_token/);

    const failed = await audit('action=auth.failed');
    expect(failed.some((a) => a.target === 'GET /v1/runs' && a.actor === 'anonymous' && a.outcome === 'denied')).toBe(true);
    const { rows } = await db.query('SELECT * FROM audit_log');
    expect(JSON.stringify(rows)).not.toContain(bogus);
  });

  it('leaves the public endpoints open', async () => {
    for (const path of ['/healthz', '/readyz', '/openapi.json']) expect((await anon.get(path)).status, path).toBe(200);
    expect([200, 302]).toContain((await fetch(`${coordinator.url}/ui/`, { redirect: 'manual' })).status);
    // Metrics name jobs and agents: read access.
    expect((await anon.get('/metrics')).status).toBe(401);
    expect((await admin.get('/metrics')).status).toBe(200);
  });
});

describe('tokens', () => {
  it('are shown once, stored only as a hash, listed without secrets', async () => {
    const created = await createToken({ role: 'viewer', namespaces: ['default'], name: 'ci-reader' });
    expect(created.token).toMatch(/^drv_/);
    const list = await admin.get<{ items: Token[] }>('/v1/tokens');
    const listed = list.body.items.find((t) => t.id === created.id);
    expect(listed).toMatchObject({ name: 'ci-reader', role: 'viewer', namespaces: ['default'], revokedAt: null });
    expect(JSON.stringify(list.body)).not.toContain(created.token);
    expect(listed).not.toHaveProperty('token');
    // Neither the token string nor the bootstrap token is anywhere in the database.
    for (const table of ['api_tokens', 'audit_log']) {
      const dump = JSON.stringify((await db.query(`SELECT * FROM ${table}`)).rows);
      expect(dump, table).not.toContain(created.token);
      expect(dump, table).not.toContain(coordinator.token);
    }
    expect((await api(coordinator.url, { token: created.token }).get('/v1/jobs')).status).toBe(200);
    // A viewer reads; it may not change anything.
    expect((await api(coordinator.url, { token: created.token }).post('/v1/jobs', job('nope'))).status).toBe(403);
  });

  it('are refused once revoked (401), and the revocation is audited', async () => {
    const t = await createToken({ role: 'operator', namespaces: ['default'] });
    const client = api(coordinator.url, { token: t.token });
    expect((await client.get('/v1/jobs')).status).toBe(200);
    const revoked = await admin.del<Token>(`/v1/tokens/${t.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await client.get('/v1/jobs')).status).toBe(401);
    expect((await audit('action=token.revoked')).some((a) => a.target === t.id && a.outcome === 'ok')).toBe(true);
    expect((await audit('action=token.created')).some((a) => a.target === t.id)).toBe(true);
    expect((await admin.del<Problem>('/v1/tokens/no-such-token')).status).toBe(404);
  });

  it('are refused once expired (401)', async () => {
    const t = await createToken({ role: 'viewer', namespaces: ['default'], expiresIn: '1s' });
    const client = api(coordinator.url, { token: t.token });
    // Expiry is checked on every use: wait until it has passed, whatever the machine's pace.
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(t.expiresAt ?? '') - Date.now()) + 100));
    expect((await client.get('/v1/jobs')).status).toBe(401);
  });

  it('need valid roles, namespaces and names', async () => {
    const bad = async (body: Record<string, unknown>) => (await admin.post<Problem>('/v1/tokens', body)).status;
    expect(await bad({ role: 'root' })).toBe(400);
    expect(await bad({ role: 'viewer' })).toBe(400); // no namespace
    expect(await bad({ role: 'admin', namespaces: ['a'] })).toBe(400);
    expect(await bad({ role: 'viewer', namespaces: ['Team A'] })).toBe(400);
    expect(await bad({ role: 'viewer', namespaces: ['x'.repeat(64)] })).toBe(400);
    expect(await bad({ role: 'viewer', namespaces: ['a'], name: 'has space' })).toBe(400);
    expect(await bad({ role: 'viewer', namespaces: ['a'], expiresIn: 'soon' })).toBe(400);
  });

  it('of role agent (join tokens) are refused by every REST endpoint', async () => {
    const t = await createToken({ role: 'agent' });
    const res = await api(coordinator.url, { token: t.token }).get<Problem>('/v1/agents');
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/join token/);
  });

  it('are managed by admins only, and the audit log is read by admins only', async () => {
    const op = await createToken({ role: 'operator', namespaces: ['default'] });
    const client = api(coordinator.url, { token: op.token });
    expect((await client.post('/v1/tokens', { role: 'viewer', namespaces: ['default'] })).status).toBe(403);
    expect((await client.get('/v1/tokens')).status).toBe(403);
    expect((await client.get('/v1/audit')).status).toBe(403);
    expect((await anon.get('/v1/audit')).status).toBe(401);
    const forbidden = await audit('action=auth.forbidden');
    expect(forbidden.some((a) => a.actor === `token:${op.id}` && a.target === 'GET /v1/audit' && a.status === 403)).toBe(true);
  });
});

describe('drover tokens', () => {
  const cli = async (args: string[], token = coordinator.token ?? '') => {
    const proc = spawnDrover(env, args, { env: { DROVER_ADDR: coordinator.url, DROVER_TOKEN: token } });
    const status = await proc.exited;
    return {
      code: status.code,
      out: proc.lines
        .filter((l) => l.stream === 'stdout')
        .map((l) => l.text)
        .join('\n'),
      all: proc.tail(20),
    };
  };

  it('creates a token (printed once), lists it without its secret, and revokes it', async () => {
    const created = await cli([
      'tokens',
      'create',
      '--role',
      'operator',
      '--namespace',
      'team-cli',
      '--name',
      'cli-made',
      '--expires',
      '30d',
    ]);
    expect(created.code, created.all).toBe(0);
    const token = created.out.split('\n')[0] ?? '';
    expect(token).toMatch(/^drv_/);
    expect(created.out).toMatch(/only time it is shown/);
    const id = /token (\S+) \(cli-made\)/.exec(created.out)?.[1] ?? '';
    expect((await api(coordinator.url, { token }).get('/v1/jobs')).status).toBe(200);

    const listed = await cli(['tokens', 'ls']);
    expect(listed.code, listed.all).toBe(0);
    expect(listed.out).toMatch(new RegExp(`${id}\\s+cli-made\\s+operator\\s+team-cli\\s+live`));
    expect(listed.out).not.toContain(token);

    const revoked = await cli(['tokens', 'revoke', id]);
    expect(revoked.code, revoked.all).toBe(0);
    expect((await api(coordinator.url, { token }).get('/v1/jobs')).status).toBe(401);
    // Without an admin token the CLI says what the API said.
    const refused = await cli(['tokens', 'ls'], token);
    expect(refused.code).toBe(1);
    expect(refused.all).toMatch(/revoked|expired/);
  }, 60_000);
});

describe('the audit log', () => {
  it('holds every mutation before its response returns: actor, role, namespace, route, target, outcome', async () => {
    const op = await createToken({ role: 'operator', namespaces: ['team-audit'] });
    const client = api(coordinator.url, { token: op.token });
    const created = await client.post<{ id: string }>('/v1/jobs', {
      ...job('audited'),
      namespace: 'team-audit',
      executor: { type: 'noop' },
    });
    expect(created.status).toBe(201);
    // Read straight after the response: the entry was written before it was sent.
    const [entry] = (await db.query('SELECT * FROM audit_log WHERE actor = $1 ORDER BY id DESC LIMIT 1', [`token:${op.id}`])).rows as Array<
      AuditRecord & { detail: Record<string, unknown> }
    >;
    expect(entry).toMatchObject({ role: 'operator', namespace: 'team-audit', action: 'POST /v1/jobs', outcome: 'ok', status: 201 });
    expect(entry?.target).toBe(`job=${created.body.id}`);
    // Field names only, never values.
    expect(entry?.detail).toEqual({ fields: ['name', 'executor', 'namespace'] });

    const refused = await client.del<Problem>('/v1/jobs/no-such-job');
    expect(refused.status).toBe(404);
    const [miss] = (await db.query('SELECT * FROM audit_log WHERE actor = $1 ORDER BY id DESC LIMIT 1', [`token:${op.id}`]))
      .rows as AuditRecord[];
    expect(miss).toMatchObject({ action: 'DELETE /v1/jobs/:id', target: 'id=no-such-job', outcome: 'rejected', status: 404 });

    const listed = await audit(`actor=token:${op.id}&limit=1`);
    expect(listed).toHaveLength(1);
    expect(listed[0]?.action).toBe('DELETE /v1/jobs/:id');
  });
});

describe('limits', () => {
  it('refuses an oversized body with a 413 problem and changes nothing', async () => {
    const huge = { ...job('too-big'), description: 'x'.repeat(2 * 1024 * 1024) };
    const res = await admin.post<Problem>('/v1/jobs', huge);
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body.detail).toMatch(/larger than/);
    expect((await admin.get('/v1/jobs/too-big')).status).toBe(404);
  });

  it('answers a flood with 429 and Retry-After, per token', async () => {
    const limited = await startCoordinator(env, ['--rate-limit', '5', '--rate-limit-window', '1m'], { auth: true });
    const flooder = api(limited.url, { token: limited.token });
    const statuses: number[] = [];
    let last: Awaited<ReturnType<ApiClient['get']>> | undefined;
    for (let i = 0; i < 8; i++) {
      last = await flooder.get('/v1/jobs');
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((last?.body as Problem).detail).toMatch(/retry in/);
    // Another token has its own budget; health checks have none.
    const other = await createToken({ role: 'viewer', namespaces: ['default'] });
    expect((await api(limited.url, { token: other.token }).get('/v1/jobs')).status).toBe(200);
    expect((await flooder.get('/healthz')).status).toBe(200);
    await limited.stop();
  }, 60_000);
});

describe('a flood of bad tokens', () => {
  it('is answered 429 past 100 failures a minute, before any look-up, with one audit record instead of one each; tokens in use still pass', async () => {
    const fresh = await startCoordinator(env, { auth: true });
    const admin = api(fresh.url, { token: fresh.token });
    expect((await admin.get('/v1/jobs')).status).toBe(200);
    const unused = (await admin.post<{ token: string }>('/v1/tokens', { role: 'viewer', namespaces: ['default'] })).body.token;
    const guesser = api(fresh.url, { token: 'drv_guess' });
    const statuses: number[] = [];
    for (let i = 0; i < 105; i++) statuses.push((await guesser.get('/v1/jobs')).status);
    expect(statuses.slice(0, 100).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(100)).toEqual([429, 429, 429, 429, 429]);
    const last = await guesser.get<Problem>('/v1/jobs');
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    // A token this coordinator resolved lately still works from the throttled address; one it
    // would have to look up waits out the minute (the flood costs no query).
    expect((await admin.get('/v1/jobs')).status).toBe(200);
    expect((await api(fresh.url, { token: unused }).get('/v1/jobs')).status).toBe(429);
    const { rows } = await db.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'auth.throttled'");
    expect(rows[0].n).toBe(1);
    await fresh.stop();
  }, 60_000);
});

describe('start-up', () => {
  it('creates the bootstrap admin token once, however many coordinators start with it', async () => {
    const second = await startCoordinator(env, { auth: true });
    expect(second.token).toBe(bootstrapTokenOf(env));
    expect((await api(second.url, { token: second.token }).get('/v1/tokens')).status).toBe(200);
    const { rows } = await db.query("SELECT count(*)::int AS n FROM api_tokens WHERE name = 'bootstrap'");
    expect(rows[0].n).toBe(1);
    expect(second.proc.lines.map((l) => l.text).join('\n')).not.toContain(bootstrapTokenOf(env));
    await second.stop();
  }, 60_000);

  it('refuses a public address without usable auth, naming the fix, and never listens', async () => {
    const fresh = await createTestEnv();
    try {
      const proc = spawnDrover(fresh, ['coordinator', '--api-addr', '0.0.0.0:0']);
      const status = await proc.exited;
      expect(status.code).not.toBe(0);
      const out = proc.lines.map((l) => l.text).join('\n');
      expect(out).toMatch(/refusing to serve the API on 0\.0\.0\.0/);
      expect(out).toMatch(/DROVER_BOOTSTRAP_TOKEN=\$\(openssl rand -hex 32\)/);
      expect(out).toMatch(/--insecure/);
      expect(out).not.toMatch(/api listening/);

      // On loopback too, when no token exists: nobody could act.
      const local = spawnDrover(fresh, ['coordinator', '--api-addr', '127.0.0.1:0']);
      expect((await local.exited).code).not.toBe(0);
      expect(local.lines.map((l) => l.text).join('\n')).toMatch(/nobody could use it/);

      // A bootstrap token too short to be a secret is refused by name, without echoing it.
      const weak = spawnDrover(fresh, ['coordinator', '--api-addr', '127.0.0.1:0'], { env: { DROVER_BOOTSTRAP_TOKEN: 'hunter2' } });
      expect((await weak.exited).code).not.toBe(0);
      const weakOut = weak.lines.map((l) => l.text).join('\n');
      expect(weakOut).toMatch(/DROVER_BOOTSTRAP_TOKEN/);
      expect(weakOut).not.toContain('hunter2');
    } finally {
      await fresh.cleanup();
    }
  }, 90_000);

  it('with --insecure serves everyone as an admin and warns on every start', async () => {
    const open = await startCoordinator(env); // the harness adds --insecure
    const warning = open.proc.lines.find((l) => l.json?.level === 40 && /INSECURE/.test(String(l.json?.msg)));
    expect(warning, open.proc.tail()).toBeDefined();
    expect((await api(open.url).post('/v1/jobs', job('insecure-job'))).status).toBe(201);
    const [entry] = await audit('action=POST%20/v1/jobs&limit=1');
    expect(entry).toMatchObject({ actor: 'anonymous', role: 'admin', outcome: 'ok' });
    await open.stop();
  }, 60_000);
});
