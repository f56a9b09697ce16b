// The role × endpoint matrix, generated from the OpenAPI document a running coordinator
// serves: every operation declares the access it needs (`x-drover-access`), and every one is
// called as anonymous and with a token of each role. A role the access level grants must get
// past authentication and authorisation (any status but 401 and 403 — dummy ids make most of
// them 404 or 400, so nothing real changes); every other caller must be refused with 401
// (no token) or 403 (a token of a role without the access).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createTestEnv, startCoordinator, type ApiClient, type StartedCoordinator, type TestEnv } from './support/index.js';

// Written from the role descriptions, not imported from the code under test.
const GRANTED: Record<string, readonly string[]> = {
  public: ['anonymous', 'admin', 'operator', 'submitter', 'viewer', 'agent'],
  read: ['admin', 'operator', 'submitter', 'viewer'],
  trigger: ['admin', 'operator', 'submitter'],
  operate: ['admin', 'operator'],
  admin: ['admin'],
};
const CALLERS = ['anonymous', 'viewer', 'submitter', 'operator', 'admin', 'agent'] as const;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Operation {
  method: (typeof METHODS)[number];
  path: string;
  access: string | undefined;
  security: unknown;
}

let env: TestEnv;
let coordinator: StartedCoordinator;
let operations: Operation[] = [];
const clients = new Map<string, ApiClient>();

beforeAll(async () => {
  env = await createTestEnv();
  coordinator = await startCoordinator(env, { auth: true });
  const admin = api(coordinator.url, { token: coordinator.token });
  const doc = (await admin.get<{ paths: Record<string, Record<string, Record<string, unknown>>> }>('/openapi.json')).body;
  operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({
      method,
      path,
      access: item[method]?.['x-drover-access'] as string | undefined,
      security: item[method]?.security,
    })),
  );
  clients.set('anonymous', api(coordinator.url));
  clients.set('admin', admin);
  for (const role of ['viewer', 'submitter', 'operator', 'agent'] as const) {
    const created = await admin.post<{ token: string }>('/v1/tokens', {
      role,
      name: `matrix-${role}`,
      ...(role === 'agent' ? {} : { namespaces: ['default'] }),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    clients.set(role, api(coordinator.url, { token: created.body.token }));
  }
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
});

it('documents a known access level on every operation, with the bearer scheme unless public', () => {
  expect(operations.length).toBeGreaterThan(30);
  for (const op of operations) {
    const name = `${op.method.toUpperCase()} ${op.path}`;
    expect(Object.keys(GRANTED), name).toContain(op.access);
    expect(op.security, name).toEqual(op.access === 'public' ? [] : [{ bearer: [] }]);
    // Nothing that changes state is open to anyone.
    if (op.method !== 'get') expect(op.access, name).not.toBe('public');
  }
});

describe('every operation × every caller', () => {
  it('lets exactly the roles its access level grants past authentication and authorisation', async () => {
    const failures: string[] = [];
    for (const op of operations) {
      // Dummy ids: an allowed call ends in 404 (or 400 for the empty body), never in a change.
      const url = op.path.replace(/\{[^}]+\}/g, 'matrix-dummy');
      for (const caller of CALLERS) {
        const client = clients.get(caller) as ApiClient;
        const res = await client.request(op.method.toUpperCase(), url, op.method === 'get' || op.method === 'delete' ? undefined : {});
        const allowed = GRANTED[op.access ?? '']?.includes(caller) ?? false;
        const expected = allowed ? 'not 401/403' : caller === 'anonymous' ? '401' : '403';
        const ok = allowed ? res.status !== 401 && res.status !== 403 : res.status === (caller === 'anonymous' ? 401 : 403);
        if (!ok) failures.push(`${op.method.toUpperCase()} ${op.path} (${op.access}) as ${caller}: ${res.status}, expected ${expected}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
