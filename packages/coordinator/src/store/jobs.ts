// Jobs: definitions as accepted, soft-deleted so that their runs keep their history.
import { sql } from 'kysely';
import { compileJob, type JobDefinition } from '@drover/shared';
import type { Db } from './db.js';

/** A job as the API shows it. */
export interface Job extends JobDefinition {
  id: string;
  createdAt: string;
  updatedAt: string;
  /** Set while the job's schedule is paused. */
  pausedAt: string | null;
}

interface JobRow {
  id: string;
  definition: unknown;
  created_at: Date;
  updated_at: Date;
  paused_at: Date | null;
}

const COLUMNS = ['id', 'definition', 'created_at', 'updated_at', 'paused_at'] as const;

function toJob(r: JobRow): Job {
  return {
    id: r.id,
    ...(r.definition as JobDefinition),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    pausedAt: r.paused_at === null ? null : new Date(r.paused_at).toISOString(),
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
    .values({ id, name: def.name, definition: JSON.stringify(def), priority: def.priority ?? 50, ...sweptLimits(def) })
    .returning([...COLUMNS])
    .executeTakeFirstOrThrow();
  return toJob(row);
}

/** A live job by id or by name. */
export async function getJob(db: Db, idOrName: string): Promise<Job | undefined> {
  const row = await db
    .selectFrom('jobs')
    .select([...COLUMNS])
    .where('deleted_at', 'is', null)
    .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
    .executeTakeFirst();
  return row && toJob(row);
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

/** Live jobs ordered by name, a page at a time (cursor = last name seen). */
export async function listJobs(db: Db, opts: { limit: number; after?: string }): Promise<{ jobs: Job[]; total: number }> {
  let q = db
    .selectFrom('jobs')
    .select([...COLUMNS])
    .where('deleted_at', 'is', null);
  if (opts.after) q = q.where('name', '>', opts.after);
  const [rows, count] = await Promise.all([
    q.orderBy('name').limit(opts.limit).execute(),
    db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow(),
  ]);
  return { jobs: rows.map(toJob), total: Number(count.n) };
}

/** Replaces a live job's definition. */
export async function updateJob(db: Db, id: string, def: JobDefinition): Promise<Job | undefined> {
  const row = await db
    .updateTable('jobs')
    .set({
      name: def.name,
      definition: JSON.stringify(def),
      priority: def.priority ?? 50,
      ...sweptLimits(def),
      updated_at: sql<Date>`now()`,
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
    .set({ deleted_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Pauses (at `at`) or resumes (`at` null) a live job's schedule; returns the job and when it had been paused. */
export async function setPaused(db: Db, id: string, at: number | null): Promise<{ job: Job; wasPausedAt: Date | null } | undefined> {
  const res = await sql<JobRow & { was_paused_at: Date | null }>`
    WITH old AS (SELECT id, paused_at FROM jobs WHERE id = ${id} AND deleted_at IS NULL FOR UPDATE)
    UPDATE jobs j SET paused_at = CASE WHEN ${at}::double precision IS NULL THEN NULL ELSE COALESCE(j.paused_at, to_timestamp(${at} / 1000.0)) END
      FROM old WHERE j.id = old.id
    RETURNING j.id, j.definition, j.created_at, j.updated_at, j.paused_at, old.paused_at AS was_paused_at`.execute(db);
  const row = res.rows[0];
  return row && { job: toJob(row), wasPausedAt: row.was_paused_at };
}
