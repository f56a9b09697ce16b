// /v1/dead-letters: runs that ended without success after their last allowed attempt. Each can
// be replayed (the run gets one more attempt, with a fresh retry budget) or dismissed, alone
// or in bulk by filter.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { CoordinatorContext } from '../../context.js';
import { deadLetterRunIds, dismissDeadLetters, getDeadLetter, listDeadLetters, type DeadLetterFilter } from '../../store/dead-letters.js';
import { retryRunsByHand } from '../../ops/retry-runs.js';
import { badRequest, HttpProblem, notFound } from '../problem.js';
import { jobNamespace } from '../../store/jobs.js';
import { findJobIn } from '../require.js';
import { inNamespace } from '../access.js';
import { DeadLetterSchema, ProblemSchema, RunSchema, pageOf } from '../schemas.js';
import { getRun } from '../../store/query-runs.js';

/** Most entries one bulk request resolves; repeat the request for more. */
const MAX_BULK = 10_000;
const STATUSES = ['open', 'replayed', 'dismissed', 'all'] as const;

const FilterFields = {
  job: Type.Optional(Type.String({ description: 'Job id or name.' })),
  state: Type.Optional(Type.Union([Type.Literal('failed'), Type.Literal('timed_out'), Type.Literal('lost')])),
  reason: Type.Optional(Type.String({ description: 'Entries whose reason contains this text (case-insensitive).' })),
  before: Type.Optional(Type.String({ format: 'date-time' })),
  after: Type.Optional(Type.String({ format: 'date-time' })),
};

const BulkSchema = Type.Object(
  { ...FilterFields, all: Type.Optional(Type.Boolean({ description: 'Required to act on every open entry when no filter is given.' })) },
  { additionalProperties: false },
);

const BulkResult = Type.Object({
  count: Type.Integer(),
  runIds: Type.Array(Type.String()),
  more: Type.Boolean({ description: `True when more than ${MAX_BULK} entries matched: repeat the request.` }),
});

type FilterInput = { job?: string; state?: string; reason?: string; before?: string; after?: string };

/** The id of a filter's job; an unknown one is a 400 naming the field, as on the other lists. */
async function jobIdOf(ctx: CoordinatorContext, req: FastifyRequest, idOrName: string): Promise<string> {
  const job = await findJobIn(ctx.db, idOrName, req.principal.namespaces);
  if (!job) throw badRequest([{ field: 'job', message: `no job with id or name ${JSON.stringify(idOrName)}` }]);
  return job.id;
}

async function toFilter(ctx: CoordinatorContext, req: FastifyRequest, q: FilterInput): Promise<DeadLetterFilter> {
  const instant = (field: 'before' | 'after'): number | undefined => {
    const v = q[field];
    if (v === undefined) return undefined;
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw badRequest([{ field, message: `"${v}" is not a date-time; use e.g. 2026-11-22T08:00:00Z` }]);
    return ms;
  };
  return {
    namespaces: req.principal.namespaces,
    jobId: q.job ? await jobIdOf(ctx, req, q.job) : undefined,
    state: q.state,
    reasonContains: q.reason,
    before: instant('before'),
    after: instant('after'),
  };
}

function parseCursor(cursor: string | undefined): { at: number; runId: string } | undefined {
  if (!cursor) return undefined;
  const [at, runId] = cursor.split('|');
  if (!at || !runId || Number.isNaN(Number(at))) throw badRequest([{ field: 'cursor', message: 'is not a nextCursor this API gave out' }]);
  return { at: Number(at), runId };
}

export async function deadLetterRoutes(app: FastifyInstance, ctx: CoordinatorContext): Promise<void> {
  app.get(
    '/v1/dead-letters',
    {
      config: { access: 'read' },
      schema: {
        summary: 'List dead letters, newest first (open ones unless `status` says otherwise)',
        tags: ['dead letters'],
        querystring: Type.Object(
          {
            ...FilterFields,
            status: Type.Optional(Type.Union(STATUSES.map((s) => Type.Literal(s)))),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            cursor: Type.Optional(Type.String()),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(DeadLetterSchema), 400: ProblemSchema },
      },
    },
    async (req) => {
      const q = req.query as FilterInput & { status?: (typeof STATUSES)[number]; limit?: number; cursor?: string };
      const filter = { ...(await toFilter(ctx, req, q)), status: q.status };
      const limit = q.limit ?? 100;
      const { items, total } = await listDeadLetters(ctx.db, filter, { limit, cursor: parseCursor(q.cursor) });
      const last = items[items.length - 1];
      return { items, total, nextCursor: items.length === limit && last ? `${Date.parse(last.createdAt)}|${last.runId}` : null };
    },
  );

  const one = async (req: FastifyRequest, id: string) => {
    const entry = await getDeadLetter(ctx.db, id);
    // Another namespace's entry is as unknown as a missing one.
    const namespace = entry ? await jobNamespace(ctx.db, entry.jobId) : undefined;
    if (namespace !== undefined) req.audit.namespace = namespace;
    if (!entry || namespace === undefined || !inNamespace(req.principal, namespace))
      throw notFound('dead letter for run', id, 'list them with GET /v1/dead-letters');
    if (entry.resolvedAt !== null)
      throw new HttpProblem('DEAD_LETTER_RESOLVED', `the dead letter of run ${id} was already ${entry.resolution} at ${entry.resolvedAt}`);
    return entry;
  };

  app.post(
    '/v1/dead-letters/:runId/replay',
    {
      config: { access: 'operate' },
      schema: {
        summary: 'Replay a dead letter: its run gets one more attempt, with a fresh retry budget',
        tags: ['dead letters'],
        params: Type.Object({ runId: Type.String() }),
        response: { 202: RunSchema, 404: ProblemSchema, 409: ProblemSchema },
      },
    },
    async (req, reply) => {
      const { runId } = req.params as { runId: string };
      await one(req, runId);
      const requeued = await retryRunsByHand(ctx, [runId], 'dead letter replayed');
      if (requeued.length === 0) {
        // Another replay won meanwhile: this throws the 409 that says it was already replayed.
        const now = await one(req, runId);
        throw new HttpProblem('JOB_DELETED', `the job ${now.jobName} of run ${runId} was deleted; it cannot run again`);
      }
      return reply.status(202).send(await getRun(ctx.db, runId));
    },
  );

  app.post(
    '/v1/dead-letters/:runId/dismiss',
    {
      config: { access: 'operate' },
      schema: {
        summary: 'Dismiss a dead letter: it leaves the open list, the run stays as it ended',
        tags: ['dead letters'],
        params: Type.Object({ runId: Type.String() }),
        response: { 200: DeadLetterSchema, 404: ProblemSchema, 409: ProblemSchema },
      },
    },
    async (req) => {
      const { runId } = req.params as { runId: string };
      await one(req, runId);
      await dismissDeadLetters(ctx.db, [runId], ctx.now());
      return getDeadLetter(ctx.db, runId);
    },
  );

  const bulk = async (req: FastifyRequest, body: FilterInput & { all?: boolean }) => {
    const given = Object.entries(body).some(([k, v]) => k !== 'all' && v !== undefined);
    if (!given && body.all !== true)
      throw badRequest([
        { field: '', message: 'give a filter (job, state, reason, before, after) or "all": true to act on every open dead letter' },
      ]);
    const ids = await deadLetterRunIds(ctx.db, await toFilter(ctx, req, body), MAX_BULK + 1);
    return { ids: ids.slice(0, MAX_BULK), more: ids.length > MAX_BULK };
  };

  // The bulk operations: the same filter, each resolving what it matched its own way.
  const bulkOperations: Record<'replay' | 'dismiss', { verb: string; resolve: (ids: string[]) => Promise<string[]> }> = {
    replay: {
      verb: 'Replay',
      resolve: async (ids) => (await retryRunsByHand(ctx, ids, 'dead letter replayed (bulk)')).map((r) => r.runId),
    },
    dismiss: { verb: 'Dismiss', resolve: (ids) => dismissDeadLetters(ctx.db, ids, ctx.now()) },
  };
  for (const [name, op] of Object.entries(bulkOperations)) {
    app.post(
      `/v1/dead-letters/${name}`,
      {
        config: { access: 'operate' },
        schema: {
          summary: `${op.verb} every open dead letter a filter matches (up to ${MAX_BULK} per request)`,
          tags: ['dead letters'],
          body: BulkSchema,
          response: { 200: BulkResult, 400: ProblemSchema },
        },
      },
      async (req) => {
        const { ids, more } = await bulk(req, req.body as FilterInput & { all?: boolean });
        const done = await op.resolve(ids);
        return { count: done.length, runIds: done, more };
      },
    );
  }
}
