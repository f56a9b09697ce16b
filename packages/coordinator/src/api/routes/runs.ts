// /v1/runs and /v1/jobs/{id}/runs: trigger runs, enqueue batches, list and read runs.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { isTerminal, RUN_STATES, type RunState } from '@drover/shared';
import type { CoordinatorContext } from '../../context.js';
import type { Job } from '../../store/jobs.js';
import { getAttempts, getRun, getTransitions, listRuns } from '../../store/query-runs.js';
import { getRejectedEvents } from '../../store/rejected-events.js';
import { cancelRunsDetailed } from '../../ops/cancel-runs.js';
import { retryRunsByHand } from '../../ops/retry-runs.js';
import type { Run } from '../../store/run-model.js';
import { enqueueRuns, type RunRequest } from '../../ops/enqueue.js';
import { parameterErrors, triggerRun, type TriggerBody } from '../../ops/trigger.js';
import { stateList } from '../query.js';
import { badRequest, HttpProblem, notFound } from '../problem.js';
import { findJobIn, requireJob, requireRun as requireVisibleRun, scopeOf } from '../require.js';
import { inNamespace } from '../access.js';
import {
  AttemptSchema,
  RejectedEventSchema,
  BatchSchema,
  MAX_BATCH_RUNS,
  ProblemSchema,
  RunSchema,
  TransitionSchema,
  TriggerSchema,
  pageOf,
} from '../schemas.js';

const RunIdParams = Type.Object({ id: Type.String() });

async function requireRun(ctx: CoordinatorContext, id: string): Promise<Run> {
  const run = await getRun(ctx.db, id);
  if (!run) throw notFound('run', id, 'list runs with GET /v1/runs');
  return run;
}

/**
 * The states to list: `state`, as on dead letters and in every run; `status`, its former name,
 * is still read for one release, and the answer says it is deprecated.
 */
function stateParameter(q: { state?: string; status?: string }, reply: FastifyReply): RunState[] | undefined {
  if (q.status === undefined) return stateList(q.state, RUN_STATES, 'state');
  if (q.state !== undefined) throw badRequest([{ field: 'status', message: 'give state or its deprecated name status, not both' }]);
  void reply.header('deprecation', 'true').header('warning', '299 - "the query parameter status is deprecated: use state"');
  return stateList(q.status, RUN_STATES, 'status');
}

export async function runRoutes(app: FastifyInstance, ctx: CoordinatorContext): Promise<void> {
  app.post(
    '/v1/jobs/:id/runs',
    {
      config: { access: 'trigger' },
      schema: {
        summary: 'Trigger a run of a job now (or after `delay`); an Idempotency-Key header makes retries safe',
        tags: ['runs'],
        params: Type.Object({ id: Type.String() }),
        headers: Type.Object({
          'idempotency-key': Type.Optional(
            Type.String({ description: 'The same key and body return the same run; the same key with another body is a 422.' }),
          ),
        }),
        body: TriggerSchema,
        response: { 200: RunSchema, 201: RunSchema, 400: ProblemSchema, 404: ProblemSchema, 422: ProblemSchema },
      },
      // A trigger without parameters needs no body at all.
      preValidation: async (req) => {
        if (req.body === undefined || req.body === null) req.body = {};
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      // The cache answers the hot path without a query, for a job the caller may see.
      let job = ctx.jobs.cached(id);
      if (job && inNamespace(req.principal, job.namespace)) req.audit.namespace = job.namespace;
      else {
        job = await requireJob(ctx.db, id, req);
        ctx.jobs.put(job);
      }
      const key = req.headers['idempotency-key'];
      const { run, created } = await triggerRun(ctx, job, (req.body ?? {}) as TriggerBody, typeof key === 'string' ? key : undefined);
      return reply
        .status(created ? 201 : 200)
        .header('location', `/v1/runs/${run.id}`)
        .send(run);
    },
  );

  app.post(
    '/v1/runs/batch',
    {
      config: { access: 'trigger' },
      schema: {
        summary: `Enqueue up to ${MAX_BATCH_RUNS} runs of one or several jobs in one request`,
        tags: ['runs'],
        body: BatchSchema,
        response: {
          201: Type.Object({ count: Type.Integer(), runs: Type.Array(Type.Object({ id: Type.String(), jobId: Type.String() })) }),
          400: ProblemSchema,
        },
      },
      bodyLimit: 16 * 1024 * 1024,
    },
    async (req, reply) => {
      const { runs } = req.body as { runs: Array<{ job: string; parameters?: Record<string, string>; priority?: number; count?: number }> };
      const total = runs.reduce((n, r) => n + (r.count ?? 1), 0);
      if (total > MAX_BATCH_RUNS)
        throw badRequest([
          { field: 'runs', message: `asks for ${total} runs; at most ${MAX_BATCH_RUNS} per request — split it into several requests` },
        ]);
      const jobs = new Map<string, Job | undefined>();
      for (const r of runs) if (!jobs.has(r.job)) jobs.set(r.job, await findJobIn(ctx.db, r.job, req.principal.namespaces));
      const missing = runs.flatMap((r, i) =>
        jobs.get(r.job) ? [] : [{ field: `runs.${i}.job`, message: `no job with id or name ${JSON.stringify(r.job)}` }],
      );
      if (missing.length > 0) throw badRequest(missing);
      const unset = runs.flatMap((r, i) => parameterErrors(jobs.get(r.job) as Job, r.parameters, `runs.${i}.parameters`));
      if (unset.length > 0) throw badRequest(unset);
      const requests: RunRequest[] = runs.flatMap((r) =>
        Array.from({ length: r.count ?? 1 }, () => ({
          job: jobs.get(r.job) as Job,
          parameters: r.parameters,
          priority: r.priority,
          trigger: 'batch' as const,
        })),
      );
      const created = await enqueueRuns(ctx, requests);
      return reply.status(201).send({ count: created.length, runs: created.map((r) => ({ id: r.id, jobId: r.jobId })) });
    },
  );

  app.get(
    '/v1/runs',
    {
      config: { access: 'read' },
      schema: {
        summary: 'List runs, newest first',
        tags: ['runs'],
        querystring: Type.Object(
          {
            job: Type.Optional(Type.String({ description: 'Job id or name.' })),
            namespace: Type.Optional(Type.String({ description: 'Only runs of jobs in this namespace.' })),
            state: Type.Optional(Type.String({ description: `One or more states, comma-separated: ${RUN_STATES.join(', ')}.` })),
            status: Type.Optional(
              Type.String({
                description: 'Deprecated: the former name of `state`, accepted until 0.2 (the answer then carries a Deprecation header).',
              }),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            cursor: Type.Optional(Type.String({ description: 'nextCursor of the previous page.' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(RunSchema), 400: ProblemSchema },
      },
    },
    async (req, reply) => {
      const q = req.query as { job?: string; namespace?: string; state?: string; status?: string; limit?: number; cursor?: string };
      const states = stateParameter(q, reply);
      const namespaces = scopeOf(req, q.namespace);
      let jobId: string | undefined;
      if (q.job) {
        const job = await findJobIn(ctx.db, q.job, namespaces);
        if (!job) throw badRequest([{ field: 'job', message: `no job with id or name ${JSON.stringify(q.job)}` }]);
        jobId = job.id;
      }
      const limit = q.limit ?? 100;
      const { runs, total } = await listRuns(ctx.db, { jobId, states, namespaces }, { limit, before: q.cursor });
      return { items: runs, total, nextCursor: runs.length === limit ? (runs[runs.length - 1]?.id ?? null) : null };
    },
  );

  app.get(
    '/v1/runs/:id',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Get a run with its attempts and state history',
        tags: ['runs'],
        params: RunIdParams,
        response: {
          200: Type.Intersect([
            RunSchema,
            Type.Object({
              attempts: Type.Array(AttemptSchema),
              transitions: Type.Array(TransitionSchema),
              rejectedEvents: Type.Array(RejectedEventSchema, {
                description: 'Events its agents reported that could not be applied (the first 100), with why.',
              }),
            }),
          ]),
          404: ProblemSchema,
        },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const run = await requireVisibleRun(ctx.db, id, req);
      const [attempts, transitions, rejectedEvents] = await Promise.all([
        getAttempts(ctx.db, run),
        getTransitions(ctx.db, id),
        getRejectedEvents(ctx.db, id),
      ]);
      return { ...run, attempts, transitions, rejectedEvents };
    },
  );

  app.post(
    '/v1/runs/:id/cancel',
    {
      config: { access: 'operate' },
      schema: {
        summary:
          "Cancel a run: at once when it is not on an agent (200), else its agent stops it — SIGTERM, then SIGKILL after the job's killGracePeriod (202)",
        tags: ['runs'],
        params: RunIdParams,
        body: Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false })),
        response: { 200: RunSchema, 202: RunSchema, 404: ProblemSchema, 409: ProblemSchema },
      },
      preValidation: async (req) => {
        if (req.body === undefined || req.body === null) req.body = {};
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const before = await requireVisibleRun(ctx.db, id, req);
      if (isTerminal(before.state))
        throw new HttpProblem(
          'RUN_FINISHED',
          `run ${id} already ended ${before.state}${before.finishedAt ? ` at ${before.finishedAt}` : ''}; there is nothing to cancel (run it again with POST /v1/runs/${id}/retry)`,
        );
      const reason = (req.body as { reason?: string }).reason ?? 'cancelled through the API';
      const { stopping } = await cancelRunsDetailed(ctx, [id], reason);
      const after = await requireRun(ctx, id);
      if (isTerminal(after.state) && after.state !== 'cancelled')
        throw new HttpProblem('RUN_FINISHED', `run ${id} ended ${after.state} before the cancel took effect`);
      return reply.status(stopping > 0 && !isTerminal(after.state) ? 202 : 200).send(after);
    },
  );

  app.post(
    '/v1/runs/:id/retry',
    {
      config: { access: 'operate' },
      schema: {
        summary: 'Retry a finished run by hand: one more attempt, with a fresh retry budget; its dead letter, if any, is resolved',
        tags: ['runs'],
        params: RunIdParams,
        response: { 202: RunSchema, 404: ProblemSchema, 409: ProblemSchema },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const before = await requireVisibleRun(ctx.db, id, req);
      if (!isTerminal(before.state))
        throw new HttpProblem(
          'RUN_NOT_FINISHED',
          `run ${id} is ${before.state}, not finished; wait for it to end, or cancel it first with POST /v1/runs/${id}/cancel`,
        );
      const requeued = await retryRunsByHand(ctx, [id], 'retried by hand');
      if (requeued.length === 0) {
        const now = await requireRun(ctx, id);
        if (!isTerminal(now.state)) throw new HttpProblem('RUN_ALREADY_REQUEUED', `run ${id} is already ${now.state} again`);
        throw new HttpProblem('JOB_DELETED', `the job of run ${id} was deleted; create the job again to run it`);
      }
      return reply.status(202).send(await requireRun(ctx, id));
    },
  );
}
