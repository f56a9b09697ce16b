import { describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { pino } from 'pino';
import type { CoordinatorContext } from '../context.js';
import { installAuth } from './auth.js';

// Nothing here reaches the database: open modes never look a token up, and the declaration
// check runs before any request.
const ctx = { log: pino({ level: 'silent' }), now: Date.now } as unknown as CoordinatorContext;

describe('installAuth', () => {
  it('refuses to start an API with a route that declares no access, naming it', async () => {
    const app = Fastify();
    installAuth(app, ctx, 'tokens');
    app.get('/declared', { config: { access: 'read' } }, async () => 'ok');
    app.post('/undeclared', async () => 'ok');
    await expect(app.ready()).rejects.toThrow(/routes without config\.access: POST \/undeclared/);
  });

  it('lets every caller act as an admin of every namespace in the open modes, named for the audit log', async () => {
    for (const [mode, actor] of [
      ['insecure', 'anonymous'],
      ['dev', 'dev'],
    ] as const) {
      const app = Fastify();
      installAuth(app, ctx, mode);
      app.get('/who', { config: { access: 'admin' } }, async (req) => req.principal);
      const res = await app.inject({ method: 'GET', url: '/who' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ actor, role: 'admin', namespaces: 'all', tokenId: null });
      await app.close();
    }
  });
});
