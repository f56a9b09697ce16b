// The REST API: fastify, with its OpenAPI document generated from the route schemas.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import rateLimit from '@fastify/rate-limit';
import type { CoordinatorContext } from '../context.js';
import { installProblemHandlers } from './problem.js';
import { installInputGuard } from './input-guard.js';
import { frameworkErrorOptions } from './framework-errors.js';
import { metricsRoutes } from './routes/metrics.js';
import { jobOperations } from './routes/jobs.js';
import { runOperations } from './routes/runs.js';
import { registerOperations } from './rest-operations.js';
import { logRoutes } from './routes/logs.js';
import { agentOperations } from './routes/agents.js';
import { agentRevokeOperations } from './routes/agent-revoke.js';
import { healthRoutes } from './routes/health.js';
import { scheduleOperations } from './routes/schedules.js';
import { actionOperations } from './routes/actions.js';
import { deadLetterOperations } from './routes/dead-letters.js';
import { alertOperations } from './routes/alerts.js';
import { jobSummaryOperations } from './routes/job-summaries.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { secretOperations } from './routes/secrets.js';
import { apiHttps } from '../security/tls.js';
import { installAuth, type AuthMode } from './auth.js';
import { tokenOperations } from './routes/tokens.js';
import { auditOperations } from './routes/audit.js';
import { whoamiOperations } from './routes/whoami.js';
import { clusterKeyOperations } from './routes/cluster-key.js';
import { HttpProblem } from './problem.js';
import { finishDocument, openApiBase } from './openapi-document.js';
import { limitConnectionsPerAddress, requestTimeouts } from './connection-limits.js';

export const API_VERSION = '0.1.0';

/** Builds the API (not yet listening); `auth` says how callers are identified (api/auth.ts). */
export async function buildApi(ctx: CoordinatorContext, isLeader: () => boolean, auth: AuthMode = 'tokens'): Promise<FastifyInstance> {
  // HTTPS when --api-tls-cert/--api-tls-key are set (security/tls.ts); the routes are the same.
  const https = ctx.options
    ? apiHttps({ cert: ctx.options.apiTlsCert, key: ctx.options.apiTlsKey, clientCa: ctx.options.apiTlsClientCa })
    : undefined;
  const timeouts = requestTimeouts(ctx.options?.apiRequestTimeout ?? 10_000);
  const app = Fastify({
    ...(https ? { https: { ...https, ...timeouts } } : {}),
    loggerInstance: ctx.log.child({ component: 'api' }) as unknown as FastifyBaseLogger,
    // Per-request lines would dominate the log at thousands of requests a second.
    logController: new LogController({ disableRequestLogging: true }),
    // Unknown fields are reported, never silently dropped; query strings still coerce numbers.
    // Infinity (`limit=Infinity`, `1e309`) passes Ajv even past a maximum: input-guard.ts refuses it.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true, allErrors: true } },
    // Bad URLs, over-long path parameters and unparsable requests answer problems too.
    ...frameworkErrorOptions,
    bodyLimit: 1024 * 1024,
    // A client that trickles its request (slowloris), or connects and sends nothing, is cut off;
    // responses (log follow streams) may last. See connection-limits.ts.
    requestTimeout: timeouts.requestTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    http: timeouts,
  });
  limitConnectionsPerAddress(app.server, ctx.options?.maxConnectionsPerAddress ?? 0, ctx.log);
  installProblemHandlers(app);
  installInputGuard(app);
  // Before any route: it collects them to check each declared its access.
  const tokens = installAuth(app, ctx, auth);
  // Per token (per address without one). Off when nobody is identified (--insecure, dev): one
  // address would share one budget, and labs and benchmarks would hit it.
  const limit = auth === 'tokens' ? (ctx.options?.rateLimit ?? 0) : 0;
  if (limit > 0) {
    const window = ctx.options.rateLimitWindow;
    await app.register(rateLimit, {
      max: limit,
      timeWindow: window,
      // After authentication (onRequest), before the body is read.
      hook: 'preParsing',
      keyGenerator: (req) => req.principal?.tokenId ?? req.ip,
      allowList: (req) => (req.routeOptions.config?.access ?? 'public') === 'public',
      errorResponseBuilder: (req, c) =>
        new HttpProblem(
          'RATE_LIMITED',
          `more than ${c.max} requests in ${Math.round(window / 1000)} s from ${req.principal?.tokenId ? `token ${req.principal.tokenId}` : req.ip}; retry in ${c.after} (see Retry-After), or ask an admin to raise --rate-limit`,
        ),
    });
  }
  // First: its hook times every route registered after it.
  await metricsRoutes(app, ctx);
  // An empty body sent as JSON is no body (e.g. a client's POST /v1/runs/{id}/cancel with a
  // content-type and nothing else), not a 400; anything else goes to fastify's own parser.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) =>
    body === '' ? done(null, undefined) : json(req, body as string, done),
  );
  await app.register(swagger, {
    // Shared schemas keep their $id as their component name (Run, Job, Problem…), so generated
    // clients get readable type names instead of def-0, def-1….
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    // Each operation says what it needs: `x-drover-access` (api/access.ts) and, unless public,
    // the bearer scheme. The auth matrix test walks the document by these.
    transform: ({ schema, url, route }) => {
      const access = route.config?.access;
      if (!schema || schema.hide || !access) return { schema, url };
      return {
        schema: { ...schema, 'x-drover-access': access, security: access === 'public' ? [] : [{ bearer: [] }] } as typeof schema,
        url,
      };
    },
    // Info, servers and tags, then operation ids and every error status (openapi-document.ts).
    openapi: openApiBase(API_VERSION),
    transformObject: finishDocument,
  });
  registerOperations(app, ctx, jobOperations);
  registerOperations(app, ctx, runOperations);
  await logRoutes(app, ctx);
  registerOperations(app, ctx, agentOperations);
  registerOperations(app, ctx, agentRevokeOperations);
  registerOperations(app, ctx, scheduleOperations);
  registerOperations(app, ctx, actionOperations);
  registerOperations(app, ctx, deadLetterOperations);
  await healthRoutes(app, ctx, isLeader);
  // The dashboard (/ui/) and the fleet alerts and job summaries its pages read.
  registerOperations(app, ctx, alertOperations);
  registerOperations(app, ctx, jobSummaryOperations);
  await dashboardRoutes(app);
  registerOperations(app, ctx, secretOperations);
  registerOperations(app, ctx, tokenOperations(tokens));
  registerOperations(app, ctx, auditOperations);
  registerOperations(app, ctx, whoamiOperations(auth));
  registerOperations(app, ctx, clusterKeyOperations);
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
  return app;
}
