// /v1/jobs: create, list, read, change (JSON merge patch) and delete job definitions.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ulid } from 'ulid';
import { JobDefinitionSchema, validateJobDefinition, type JobDefinition } from '@drover/shared';
import type { CoordinatorContext } from '../../context.js';
import { deleteJob, insertJob, isUniqueViolation, jobCursor, listJobs, updateJob, type Job } from '../../store/jobs.js';
import { inTransaction } from '../../store/db.js';
import { cancelQueuedRunsOfJob } from '../../ops/cancel-job-runs.js';
import { scheduleChanged, syncSchedule } from '../../ops/schedule-sync.js';
import { HttpProblem, notFound } from '../problem.js';
import { findJobIn, requireJob, scopeOf } from '../require.js';
import { DEFAULT_NAMESPACE, inNamespace } from '../access.js';
import { JobSchema, ProblemSchema, pageOf } from '../schemas.js';
import { requireSecrets } from '../secret-refs.js';

/** JSON merge patch (RFC 7396): null deletes a member, objects merge, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function definitionOf(job: Job): JobDefinition {
  const { id: _id, createdAt: _c, updatedAt: _u, pausedAt: _p, version: _v, ...def } = job;
  return def;
}

const conflict = (def: JobDefinition) =>
  new HttpProblem(
    'JOB_NAME_TAKEN',
    `a job named "${def.name}" already exists in namespace ${def.namespace ?? DEFAULT_NAMESPACE}; change it with PATCH /v1/jobs/{id} or choose another name`,
  );

/** A job may only be put in a namespace the caller holds (403: the caller named it, nothing leaks). */
function requireNamespace(req: FastifyRequest, def: JobDefinition): void {
  const namespace = def.namespace ?? DEFAULT_NAMESPACE;
  req.audit.namespace = namespace;
  if (!inNamespace(req.principal, namespace))
    throw new HttpProblem(
      'FORBIDDEN',
      `this token may not put jobs in namespace ${namespace}; it holds ${(req.principal.namespaces as readonly string[]).join(', ') || 'none'}: set "namespace" to one of them`,
    );
}

// Job bodies are checked by the shared validator (the same one the CLI uses), which names
// every offending field; the schema here documents them in the OpenAPI document.
const noSchemaValidation = () => () => true;

export async function jobRoutes(app: FastifyInstance, ctx: CoordinatorContext): Promise<void> {
  app.post(
    '/v1/jobs',
    {
      config: { access: 'operate' },
      schema: {
        summary: 'Create a job',
        tags: ['jobs'],
        body: JobDefinitionSchema,
        response: { 201: JobSchema, 400: ProblemSchema, 409: ProblemSchema },
      },
      validatorCompiler: noSchemaValidation,
    },
    async (req, reply) => {
      const def = validateJobDefinition(req.body);
      // The namespace first: a secret's existence in a namespace the caller lacks must not show.
      requireNamespace(req, def);
      await requireSecrets(ctx.db, def);
      try {
        // The job and its schedule state commit together: a scheduled job always has its state.
        const { job, changed } = await inTransaction(ctx.db, async (trx) => {
          const created = await insertJob(trx, ulid(), def);
          return { job: created, changed: await syncSchedule(ctx, trx, created, undefined) };
        });
        ctx.jobs.put(job);
        req.audit.target = `job=${job.id}`;
        if (changed) scheduleChanged(ctx);
        return reply.status(201).header('location', `/v1/jobs/${job.id}`).send(job);
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(def);
        throw err;
      }
    },
  );

  app.get(
    '/v1/jobs',
    {
      config: { access: 'read' },
      schema: {
        summary: 'List jobs by name',
        tags: ['jobs'],
        querystring: Type.Object(
          {
            namespace: Type.Optional(Type.String({ description: 'Only jobs of this namespace.' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            cursor: Type.Optional(Type.String()),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(JobSchema) },
      },
    },
    async (req) => {
      const q = req.query as { namespace?: string; limit?: number; cursor?: string };
      const limit = q.limit ?? 100;
      const { jobs, total } = await listJobs(ctx.db, { limit, after: q.cursor, namespaces: scopeOf(req, q.namespace) });
      return { items: jobs, total, nextCursor: jobs.length === limit && jobs.length > 0 ? jobCursor(jobs[jobs.length - 1]!) : null };
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Get a job by id or name',
        tags: ['jobs'],
        params: Type.Object({ id: Type.String() }),
        response: { 200: JobSchema, 404: ProblemSchema },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      return requireJob(ctx.db, id, req);
    },
  );

  app.patch(
    '/v1/jobs/:id',
    {
      config: { access: 'operate' },
      schema: {
        summary: 'Change a job (JSON merge patch of its definition)',
        tags: ['jobs'],
        params: Type.Object({ id: Type.String() }),
        body: Type.Record(Type.String(), Type.Unknown()),
        response: { 200: JobSchema, 400: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema },
      },
      validatorCompiler: noSchemaValidation,
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const current = await requireJob(ctx.db, id, req);
      if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
        throw new HttpProblem('VALIDATION_FAILED', 'the body must be a JSON object: the fields to change (null removes one)');
      }
      const def = validateJobDefinition(mergePatch(definitionOf(current), req.body));
      // Moving a job needs the namespace it moves to as well as the one it is in; checked before
      // the secrets, so a missing secret of another namespace answers the same 403 as a present one.
      requireNamespace(req, def);
      await requireSecrets(ctx.db, def);
      try {
        const { job, changed } = await inTransaction(ctx.db, async (trx) => {
          const updated = await updateJob(trx, current.id, def);
          if (!updated) throw notFound('job', id);
          return { job: updated, changed: await syncSchedule(ctx, trx, updated, current) };
        });
        ctx.jobs.put(job);
        ctx.signals.jobChanged(job.id);
        if (changed) scheduleChanged(ctx);
        return job;
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(def);
        throw err;
      }
    },
  );

  app.delete(
    '/v1/jobs/:id',
    {
      config: { access: 'operate' },
      schema: {
        summary: 'Delete a job; its queued runs are cancelled, its history kept',
        tags: ['jobs'],
        params: Type.Object({ id: Type.String() }),
        response: { 204: Type.Null(), 404: ProblemSchema },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const job = await findJobIn(ctx.db, id, req.principal.namespaces);
      if (job) req.audit.namespace = job.namespace;
      if (!job || !(await deleteJob(ctx.db, job.id))) throw notFound('job', id);
      ctx.jobs.invalidate(job.id);
      ctx.signals.jobChanged(job.id);
      await cancelQueuedRunsOfJob(ctx, job.id, 'job deleted');
      if (await syncSchedule(ctx, ctx.db, undefined, job)) scheduleChanged(ctx);
      return reply.status(204).send();
    },
  );
}
