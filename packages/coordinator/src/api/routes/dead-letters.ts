// /v1/dead-letters: runs that ended without success after their last allowed attempt. Each can
// be replayed (the run gets one more attempt, with a fresh retry budget) or dismissed, alone
// or in bulk by filter.
import { Type } from '@sinclair/typebox';
import type { CoordinatorContext } from '../../context.js';
import {
  deadLetterRunIds,
  dismissDeadLetters,
  getDeadLetter,
  listDeadLetters as findDeadLetters,
  type DeadLetterFilter,
} from '../../store/dead-letters.js';
import { retryRunsByHand } from '../../ops/retry-runs.js';
import { DomainError, invalidInput, notFound } from '../../domain-error.js';
import { jobNamespace } from '../../store/jobs.js';
import { findJobIn } from '../require.js';
import { inNamespace } from '../access.js';
import { DeadLetterSchema, RunSchema, pageOf } from '../schemas.js';
import { defineOperation, type AnyOperation, type Caller } from '../operation.js';
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
async function jobIdOf(ctx: CoordinatorContext, caller: Caller, idOrName: string): Promise<string> {
  const job = await findJobIn(ctx.db, idOrName, caller.principal.namespaces);
  if (!job) throw invalidInput([{ field: 'job', message: `no job with id or name ${JSON.stringify(idOrName)}` }]);
  return job.id;
}

async function toFilter(ctx: CoordinatorContext, caller: Caller, q: FilterInput): Promise<DeadLetterFilter> {
  const instant = (field: 'before' | 'after'): number | undefined => {
    const v = q[field];
    if (v === undefined) return undefined;
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw invalidInput([{ field, message: `"${v}" is not a date-time; use e.g. 2026-11-22T08:00:00Z` }]);
    return ms;
  };
  return {
    namespaces: caller.principal.namespaces,
    jobId: q.job ? await jobIdOf(ctx, caller, q.job) : undefined,
    state: q.state,
    reasonContains: q.reason,
    before: instant('before'),
    after: instant('after'),
  };
}

function parseCursor(cursor: string | undefined): { at: number; runId: string } | undefined {
  if (!cursor) return undefined;
  const [at, runId] = cursor.split('|');
  if (!at || !runId || Number.isNaN(Number(at)))
    throw invalidInput([{ field: 'cursor', message: 'is not a nextCursor this API gave out' }]);
  return { at: Number(at), runId };
}

const listDeadLetters = defineOperation({
  operationId: 'listDeadLetters',
  method: 'GET',
  path: '/v1/dead-letters',
  summary: 'List dead letters, newest first (open ones unless `status` says otherwise)',
  tags: ['dead letters'],
  access: 'read',
  query: Type.Object(
    {
      ...FilterFields,
      status: Type.Optional(Type.Union(STATUSES.map((s) => Type.Literal(s)))),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
      cursor: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  responses: { 200: pageOf(DeadLetterSchema) },
  errors: ['VALIDATION_FAILED'],
  handler: async ({ query }, caller, ctx) => {
    const filter = { ...(await toFilter(ctx, caller, query)), status: query.status };
    const limit = query.limit ?? 100;
    const { items, total } = await findDeadLetters(ctx.db, filter, { limit, cursor: parseCursor(query.cursor) });
    const last = items[items.length - 1];
    const nextCursor = items.length === limit && last ? `${Date.parse(last.createdAt)}|${last.runId}` : null;
    return { status: 200, body: { items, total, nextCursor } };
  },
});

/** The open dead letter of a run the caller may see, or a 404 (another namespace's too), or a 409 once resolved. */
async function openDeadLetter(ctx: CoordinatorContext, caller: Caller, id: string) {
  const entry = await getDeadLetter(ctx.db, id);
  // Another namespace's entry is as unknown as a missing one.
  const namespace = entry ? await jobNamespace(ctx.db, entry.jobId) : undefined;
  if (namespace !== undefined) caller.audit.namespace = namespace;
  if (!entry || namespace === undefined || !inNamespace(caller.principal, namespace))
    throw notFound('dead letter for run', id, 'list them with GET /v1/dead-letters');
  if (entry.resolvedAt !== null)
    throw new DomainError('DEAD_LETTER_RESOLVED', `the dead letter of run ${id} was already ${entry.resolution} at ${entry.resolvedAt}`);
  return entry;
}

const RunIdParams = Type.Object({ runId: Type.String() });

const replayDeadLetter = defineOperation({
  operationId: 'replayDeadLetter',
  method: 'POST',
  path: '/v1/dead-letters/{runId}/replay',
  summary: 'Replay a dead letter: its run gets one more attempt, with a fresh retry budget',
  tags: ['dead letters'],
  access: 'operate',
  params: RunIdParams,
  responses: { 202: RunSchema },
  errors: ['NOT_FOUND', 'DEAD_LETTER_RESOLVED', 'JOB_DELETED'],
  handler: async ({ params: { runId } }, caller, ctx) => {
    await openDeadLetter(ctx, caller, runId);
    const requeued = await retryRunsByHand(ctx, [runId], 'dead letter replayed');
    if (requeued.length === 0) {
      // Another replay won meanwhile: this throws the 409 that says it was already replayed.
      const now = await openDeadLetter(ctx, caller, runId);
      throw new DomainError('JOB_DELETED', `the job ${now.jobName} of run ${runId} was deleted; it cannot run again`);
    }
    const run = await getRun(ctx.db, runId);
    if (!run) throw notFound('run', runId, 'list runs with GET /v1/runs');
    return { status: 202, body: run };
  },
});

const dismissDeadLetter = defineOperation({
  operationId: 'dismissDeadLetter',
  method: 'POST',
  path: '/v1/dead-letters/{runId}/dismiss',
  summary: 'Dismiss a dead letter: it leaves the open list, the run stays as it ended',
  tags: ['dead letters'],
  access: 'operate',
  params: RunIdParams,
  responses: { 200: DeadLetterSchema },
  errors: ['NOT_FOUND', 'DEAD_LETTER_RESOLVED'],
  handler: async ({ params: { runId } }, caller, ctx) => {
    await openDeadLetter(ctx, caller, runId);
    await dismissDeadLetters(ctx.db, [runId], ctx.now());
    const entry = await getDeadLetter(ctx.db, runId);
    if (!entry) throw notFound('dead letter for run', runId, 'list them with GET /v1/dead-letters');
    return { status: 200, body: entry };
  },
});

/**
 * A bulk operation: the open dead letters a filter matches (at most MAX_BULK), each resolved
 * by `resolve`, which returns the run ids it resolved.
 */
const bulkOperation = (name: 'replay' | 'dismiss', verb: string, resolve: (ctx: CoordinatorContext, ids: string[]) => Promise<string[]>) =>
  defineOperation({
    operationId: name === 'replay' ? 'replayDeadLetters' : 'dismissDeadLetters',
    method: 'POST',
    path: `/v1/dead-letters/${name}`,
    summary: `${verb} every open dead letter a filter matches (up to ${MAX_BULK} per request)`,
    tags: ['dead letters'],
    access: 'operate',
    body: BulkSchema,
    responses: { 200: BulkResult },
    errors: ['VALIDATION_FAILED'],
    handler: async ({ body }, caller, ctx) => {
      const given = Object.entries(body).some(([k, v]) => k !== 'all' && v !== undefined);
      if (!given && body.all !== true)
        throw invalidInput([
          { field: '', message: 'give a filter (job, state, reason, before, after) or "all": true to act on every open dead letter' },
        ]);
      const matched = await deadLetterRunIds(ctx.db, await toFilter(ctx, caller, body), MAX_BULK + 1);
      const done = await resolve(ctx, matched.slice(0, MAX_BULK));
      return { status: 200, body: { count: done.length, runIds: done, more: matched.length > MAX_BULK } };
    },
  });

/** The dead-letter operations, in the order the API registers them. */
export const deadLetterOperations: readonly AnyOperation[] = [
  listDeadLetters,
  replayDeadLetter,
  dismissDeadLetter,
  bulkOperation('replay', 'Replay', async (ctx, ids) =>
    (await retryRunsByHand(ctx, ids, 'dead letter replayed (bulk)')).map((r) => r.runId),
  ),
  bulkOperation('dismiss', 'Dismiss', (ctx, ids) => dismissDeadLetters(ctx.db, ids, ctx.now())),
];
