// /v1/jobs: create, list, read, change (JSON merge patch) and delete job definitions.
import { Type } from '@sinclair/typebox';
import { ulid } from 'ulid';
import { JobDefinitionSchema, validateJobDefinition, type JobDefinition } from '@drover/shared';
import { DomainError, notFound } from '../../domain-error.js';
import {
  deleteJob as deleteJobRow,
  insertJob,
  isUniqueViolation,
  jobCursor,
  listJobs as listJobRows,
  updateJob as updateJobRow,
  type Job,
} from '../../store/jobs.js';
import { inTransaction } from '../../store/db.js';
import { cancelQueuedRunsOfJob } from '../../ops/cancel-job-runs.js';
import { scheduleChanged, syncSchedule } from '../../ops/schedule-sync.js';
import { defineOperation, type AnyOperation, type Caller } from '../operation.js';
import { findJobIn, requireJob, scopeOf } from '../require.js';
import { DEFAULT_NAMESPACE, inNamespace } from '../access.js';
import { JobSchema, pageOf } from '../schemas.js';
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
  new DomainError(
    'JOB_NAME_TAKEN',
    `a job named "${def.name}" already exists in namespace ${def.namespace ?? DEFAULT_NAMESPACE}; change it with PATCH /v1/jobs/{id} or choose another name`,
  );

/** A job may only be put in a namespace the caller holds (403: the caller named it, nothing leaks). */
function requireNamespace(caller: Caller, def: JobDefinition): void {
  const namespace = def.namespace ?? DEFAULT_NAMESPACE;
  caller.audit.namespace = namespace;
  if (!inNamespace(caller.principal, namespace))
    throw new DomainError(
      'FORBIDDEN',
      `this token may not put jobs in namespace ${namespace}; it holds ${(caller.principal.namespaces as readonly string[]).join(', ') || 'none'}: set "namespace" to one of them`,
    );
}

const JobIdParams = Type.Object({ id: Type.String() });

// Job bodies are checked by the shared validator (the same one the CLI uses), which names
// every offending field (`bodyCheckedByHandler`); the schema documents them in the OpenAPI document.

const createJob = defineOperation({
  operationId: 'createJob',
  method: 'POST',
  path: '/v1/jobs',
  summary: 'Create a job',
  tags: ['jobs'],
  access: 'operate',
  body: JobDefinitionSchema,
  bodyCheckedByHandler: true,
  responses: { 201: JobSchema },
  errors: ['VALIDATION_FAILED', 'FORBIDDEN', 'JOB_NAME_TAKEN'],
  handler: async ({ body }, caller, ctx) => {
    const def = validateJobDefinition(body);
    // The namespace first: a secret's existence in a namespace the caller lacks must not show.
    requireNamespace(caller, def);
    await requireSecrets(ctx.db, def);
    try {
      // The job and its schedule state commit together: a scheduled job always has its state.
      const { job, changed } = await inTransaction(ctx.db, async (trx) => {
        const created = await insertJob(trx, ulid(), def);
        return { job: created, changed: await syncSchedule(ctx, trx, created, undefined) };
      });
      ctx.jobs.put(job);
      caller.audit.target = `job=${job.id}`;
      if (changed) scheduleChanged(ctx);
      return { status: 201, body: job, headers: { location: `/v1/jobs/${job.id}` } };
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(def);
      throw err;
    }
  },
});

const listJobs = defineOperation({
  operationId: 'listJobs',
  method: 'GET',
  path: '/v1/jobs',
  summary: 'List jobs by name',
  tags: ['jobs'],
  access: 'read',
  query: Type.Object(
    {
      namespace: Type.Optional(Type.String({ description: 'Only jobs of this namespace.' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
      cursor: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  responses: { 200: pageOf(JobSchema) },
  errors: [],
  handler: async ({ query }, caller, ctx) => {
    const limit = query.limit ?? 100;
    const { jobs, total } = await listJobRows(ctx.db, { limit, after: query.cursor, namespaces: scopeOf(caller, query.namespace) });
    const nextCursor = jobs.length === limit && jobs.length > 0 ? jobCursor(jobs[jobs.length - 1]!) : null;
    return { status: 200, body: { items: jobs, total, nextCursor } };
  },
});

const getJob = defineOperation({
  operationId: 'getJob',
  method: 'GET',
  path: '/v1/jobs/{id}',
  summary: 'Get a job by id or name',
  tags: ['jobs'],
  access: 'read',
  params: JobIdParams,
  responses: { 200: JobSchema },
  errors: ['NOT_FOUND'],
  handler: async ({ params: { id } }, caller, ctx) => ({ status: 200, body: await requireJob(ctx.db, id, caller) }),
});

const updateJob = defineOperation({
  operationId: 'updateJob',
  method: 'PATCH',
  path: '/v1/jobs/{id}',
  summary: 'Change a job (JSON merge patch of its definition)',
  tags: ['jobs'],
  access: 'operate',
  params: JobIdParams,
  body: Type.Record(Type.String(), Type.Unknown()),
  bodyCheckedByHandler: true,
  responses: { 200: JobSchema },
  errors: ['VALIDATION_FAILED', 'NOT_FOUND', 'FORBIDDEN', 'JOB_NAME_TAKEN'],
  handler: async ({ params: { id }, body }, caller, ctx) => {
    const current = await requireJob(ctx.db, id, caller);
    const patch: unknown = body;
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new DomainError('VALIDATION_FAILED', 'the body must be a JSON object: the fields to change (null removes one)');
    }
    const def = validateJobDefinition(mergePatch(definitionOf(current), patch));
    // Moving a job needs the namespace it moves to as well as the one it is in; checked before
    // the secrets, so a missing secret of another namespace answers the same 403 as a present one.
    requireNamespace(caller, def);
    await requireSecrets(ctx.db, def);
    try {
      const { job, changed } = await inTransaction(ctx.db, async (trx) => {
        const updated = await updateJobRow(trx, current.id, def);
        if (!updated) throw notFound('job', id);
        return { job: updated, changed: await syncSchedule(ctx, trx, updated, current) };
      });
      ctx.jobs.put(job);
      ctx.signals.jobChanged(job.id);
      if (changed) scheduleChanged(ctx);
      return { status: 200, body: job };
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(def);
      throw err;
    }
  },
});

const deleteJob = defineOperation({
  operationId: 'deleteJob',
  method: 'DELETE',
  path: '/v1/jobs/{id}',
  summary: 'Delete a job; its queued runs are cancelled, its history kept',
  tags: ['jobs'],
  access: 'operate',
  params: JobIdParams,
  responses: { 204: Type.Null() },
  errors: ['NOT_FOUND'],
  handler: async ({ params: { id } }, caller, ctx) => {
    const job = await findJobIn(ctx.db, id, caller.principal.namespaces);
    if (job) caller.audit.namespace = job.namespace;
    if (!job || !(await deleteJobRow(ctx.db, job.id))) throw notFound('job', id);
    ctx.jobs.invalidate(job.id);
    ctx.signals.jobChanged(job.id);
    await cancelQueuedRunsOfJob(ctx, job.id, 'job deleted');
    if (await syncSchedule(ctx, ctx.db, undefined, job)) scheduleChanged(ctx);
    return { status: 204, body: null };
  },
});

/** The job operations, in the order the API registers them. */
export const jobOperations: readonly AnyOperation[] = [createJob, listJobs, getJob, updateJob, deleteJob];
