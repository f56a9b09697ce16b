// Jobs: definitions as accepted, soft-deleted so that their runs keep their history.
import { sql } from 'kysely';
import { compileJob, DEFAULT_NAMESPACE, type JobDefinition } from '@drover/shared';
import type { Db } from './db.js';

/** Namespaces a caller may see: every one, or these. */
export type NamespaceScope = readonly string[] | 'all';

/** A job as the API shows it. */
export interface Job extends JobDefinition {
  id: string;
  createdAt: string;
  updatedAt: string;
  /** Set while the job's schedule is paused. */
  pausedAt: string | null;
  /** Always set on a stored job (`default` when its definition names none). */
  namespace: string;
  /** 1 when created, one more on every change (definition, pause, deletion). */
  version: number;
}

interface JobRow {
  id: string;
  namespace: string;
  definition: unknown;
  created_at: Date;
  updated_at: Date;
  paused_at: Date | null;
  version: string;
}

const COLUMNS = ['id', 'namespace', 'definition', 'created_at', 'updated_at', 'paused_at', 'version'] as const;
const NEXT_VERSION = sql<string>`version + 1`;

function toJob(r: JobRow): Job {
  return {
    id: r.id,
    ...(r.definition as JobDefinition),
    namespace: r.namespace,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    pausedAt: r.paused_at === null ? null : new Date(r.paused_at).toISOString(),
    version: Number(r.version),
  };
}

/** True when the error is PostgreSQL's unique violation (a live job already has the name). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}

/** The limits the coordinator's sweeps look for, kept in columns so the sweeps need no JSON. */
function sweptLimits(def: JobDefinition): { expected_run_ms: number | null; max_queue_ms: number | null } {
  const c = compileJob(def);
  return { expected_run_ms: c.expectedRunMs, max_queue_ms: c.maxQueueMs };
}

/** Inserts a new job. */
export async function insertJob(db: Db, id: string, def: JobDefinition): Promise<Job> {
  const row = await db
    .insertInto('jobs')
    .values({
      id,
      name: def.name,
      namespace: def.namespace ?? DEFAULT_NAMESPACE,
      definition: JSON.stringify(def),
      priority: def.priority ?? 50,
      ...sweptLimits(def),
    })
    .returning([...COLUMNS])
    .executeTakeFirstOrThrow();
  return toJob(row);
}

/** A live job by id or by name, in any namespace (the `default` one's first when a name repeats). */
export async function getJob(db: Db, idOrName: string): Promise<Job | undefined> {
  return (await findJobs(db, idOrName, 'all', 1))[0];
}

/**
 * Live jobs an id or a name may mean, within `scope`, best first: the job with that id; else
 * those with that name, the `default` namespace's first. `namespace/name` names one exactly.
 * At most `limit` (a caller tells a unique match from an ambiguous name with 2).
 */
export async function findJobs(db: Db, idOrName: string, scope: NamespaceScope, limit = 2): Promise<Job[]> {
  if (scope !== 'all' && scope.length === 0) return [];
  const slash = idOrName.indexOf('/');
  let q = db
    .selectFrom('jobs')
    .select([...COLUMNS])
    .where('deleted_at', 'is', null);
  if (slash > 0) q = q.where('namespace', '=', idOrName.slice(0, slash)).where('name', '=', idOrName.slice(slash + 1));
  else q = q.where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]));
  if (scope !== 'all') q = q.where('namespace', 'in', [...scope]);
  const rows = await q
    .orderBy(sql`id = ${idOrName}`, 'desc')
    .orderBy(sql`namespace = ${DEFAULT_NAMESPACE}`, 'desc')
    .orderBy('namespace')
    .limit(limit)
    .execute();
  return rows.map(toJob);
}

/** The namespace of a job, live or deleted (runs outlive their job); undefined for an unknown id. */
export async function jobNamespace(db: Db, jobId: string): Promise<string | undefined> {
  const row = await db.selectFrom('jobs').select('namespace').where('id', '=', jobId).executeTakeFirst();
  return row?.namespace;
}

/** Which of these job ids (live or deleted) belong to one of these namespaces. */
export async function jobIdsInNamespaces(db: Db, ids: readonly string[], namespaces: readonly string[]): Promise<Set<string>> {
  const rows = await db
    .selectFrom('jobs')
    .select('id')
    .where('id', 'in', [...ids])
    .where('namespace', 'in', [...namespaces])
    .execute();
  return new Set(rows.map((r) => r.id));
}

/** Live jobs by id, for the dispatcher's cache. */
export async function getJobsByIds(db: Db, ids: string[]): Promise<Job[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('jobs')
    .select([...COLUMNS])
    .where('id', 'in', ids)
    .where('deleted_at', 'is', null)
    .execute();
  return rows.map(toJob);
}

/** The versions of these jobs that are live (a deleted or unknown id is left out). */
export async function jobVersions(db: Db, ids: readonly string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('jobs')
    .select(['id', 'version'])
    .where('id', 'in', [...ids])
    .where('deleted_at', 'is', null)
    .execute();
  return new Map(rows.map((r) => [r.id, Number(r.version)]));
}

/**
 * Live jobs ordered by name, then namespace (one name may live in several namespaces), a page at
 * a time. The cursor is `<name>/<namespace>` of the last job seen (see jobCursor); a bare name,
 * as older clients send, resumes after every job of that name.
 */
export async function listJobs(
  db: Db,
  opts: { limit: number; after?: string; namespaces?: NamespaceScope },
): Promise<{ jobs: Job[]; total: number }> {
  const scope = opts.namespaces ?? 'all';
  if (scope !== 'all' && scope.length === 0) return { jobs: [], total: 0 };
  let base = db.selectFrom('jobs').where('deleted_at', 'is', null);
  if (scope !== 'all') base = base.where('namespace', 'in', [...scope]);
  let q = base.select([...COLUMNS]);
  if (opts.after) {
    const slash = opts.after.indexOf('/');
    const name = slash < 0 ? opts.after : opts.after.slice(0, slash);
    // Names and namespaces never hold '/', and '~' sorts after every character they may use.
    const namespace = slash < 0 ? '~' : opts.after.slice(slash + 1);
    q = q.where(sql<boolean>`(name, namespace) > (${name}, ${namespace})`);
  }
  const [rows, count] = await Promise.all([
    q.orderBy('name').orderBy('namespace').limit(opts.limit).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { jobs: rows.map(toJob), total: Number(count.n) };
}

/** Replaces a live job's definition. */
export async function updateJob(db: Db, id: string, def: JobDefinition): Promise<Job | undefined> {
  const row = await db
    .updateTable('jobs')
    .set({
      name: def.name,
      namespace: def.namespace ?? DEFAULT_NAMESPACE,
      definition: JSON.stringify(def),
      priority: def.priority ?? 50,
      ...sweptLimits(def),
      updated_at: sql<Date>`now()`,
      version: NEXT_VERSION,
    })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returning([...COLUMNS])
    .executeTakeFirst();
  return row && toJob(row);
}

/** Soft-deletes a job; returns false when there was no live job with that id. */
export async function deleteJob(db: Db, id: string): Promise<boolean> {
  const r = await db
    .updateTable('jobs')
    .set({ deleted_at: sql<Date>`now()`, version: NEXT_VERSION })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Pauses (at `at`) or resumes (`at` null) a live job's schedule; returns the job and when it had been paused. */
export async function setPaused(db: Db, id: string, at: number | null): Promise<{ job: Job; wasPausedAt: Date | null } | undefined> {
  const res = await sql<JobRow & { was_paused_at: Date | null }>`
    WITH old AS (SELECT id, paused_at FROM jobs WHERE id = ${id} AND deleted_at IS NULL FOR UPDATE)
    UPDATE jobs j SET paused_at = CASE WHEN ${at}::double precision IS NULL THEN NULL ELSE COALESCE(j.paused_at, to_timestamp(${at} / 1000.0)) END,
        version = j.version + 1
      FROM old WHERE j.id = old.id
    RETURNING j.id, j.namespace, j.definition, j.created_at, j.updated_at, j.paused_at, j.version, old.paused_at AS was_paused_at`.execute(
    db,
  );
  const row = res.rows[0];
  return row && { job: toJob(row), wasPausedAt: row.was_paused_at };
}

/** The list cursor that resumes after this job. */
export function jobCursor(job: { name: string; namespace: string }): string {
  return `${job.name}/${job.namespace}`;
}
