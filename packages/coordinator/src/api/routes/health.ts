// /healthz (the process is alive) and /readyz (the store, the queue backend and the bus all answer).
// Plain HTTP routes, not operations (operation.ts): they are probes for load balancers and
// orchestrators, which speak HTTP and read the status code; over NATS a coordinator that
// answers at all is alive, and one whose bus is down could not answer.
import type { FastifyInstance } from 'fastify';
import type { CoordinatorContext } from '../../context.js';
import { pingDatabase } from '../../store/db.js';

async function probe(fn: () => Promise<unknown>, timeoutMs = 2000): Promise<{ ok: boolean; error?: string }> {
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export async function healthRoutes(app: FastifyInstance, ctx: CoordinatorContext, leader: () => boolean): Promise<void> {
  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { summary: 'The coordinator process is alive', tags: ['health'] } },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: { summary: 'PostgreSQL, the queue backend (Redis) and the bus (NATS) answer (503 otherwise)', tags: ['health'] },
    },
    async (_req, reply) => {
      const [postgres, queue] = await Promise.all([probe(() => pingDatabase(ctx.db)), probe(() => ctx.queue.ping())]);
      const nats = ctx.signals.connected() ? { ok: true } : { ok: false, error: 'not connected to NATS' };
      const ok = postgres.ok && queue.ok && nats.ok;
      return reply.status(ok ? 200 : 503).send({
        status: ok ? 'ready' : 'not ready',
        leader: leader(),
        checks: { postgres, queue: { ...queue, backend: ctx.queue.describe }, nats },
      });
    },
  );
}
