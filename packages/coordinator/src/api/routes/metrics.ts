// GET /metrics (Prometheus text exposition) and the hook that times every API request.
// Kept out of the OpenAPI document: it is for scrapers, not API clients, and its body is
// text/plain in Prometheus' format (see metrics/README.md for every metric).
import type { FastifyInstance } from 'fastify';
import type { CoordinatorContext } from '../../context.js';

/** Registers /metrics and times requests; call before the other routes so the hook covers them all. */
export async function metricsRoutes(app: FastifyInstance, ctx: CoordinatorContext): Promise<void> {
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern (`/v1/runs/:id`), never the raw URL: ids would make a series per run.
    ctx.metrics.apiRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime);
  });
  // Read access: the metrics name jobs and agents. Prometheus sends a token with
  // `authorization: { credentials_file: … }` in its scrape config (docs/operations.md, "Metrics and logs").
  app.get('/metrics', { config: { access: 'read' }, schema: { hide: true } }, async (_req, reply) => {
    const { contentType, text } = await ctx.metrics.expose();
    return reply.type(contentType).send(text);
  });
}
