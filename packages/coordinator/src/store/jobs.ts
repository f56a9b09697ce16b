// Jobs: definitions as accepted, soft-deleted so that their runs keep their history.
import { sql } from 'kysely';
import type { JobDefinition } from '@drover/shared';
import type { Db } from './db.js';

/** A job as the API shows it. */
export interface Job extends JobDefinition {
  id: string;
  createdAt: string;
  updatedAt: string;
}

interface JobRow {
  id: string;
  definition: unknown;
  created_at: Date;
  updated_at: Date;
}

function toJob(r: JobRow): Job {
  return { id: r.id, ...(r.definition as JobDefinition), createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString() };
}

/** True when the error is PostgreSQL's unique violation (a live job already has the name). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}

/** Inserts a new job. */
export async function insertJob(db: Db, id: string, def: JobDefinition): Promise<Job> {
  const row = await db
    .insertInto('jobs')
    .values({ id, name: def.name, definition: JSON.stringify(def), priority: def.priority ?? 50 })
    .returning(['id', 'definition', 'created_at', 'updated_at'])
    .executeTakeFirstOrThrow();
  return toJob(row);
}

/** A live job by id or by name. */
export async function getJob(db: Db, idOrName: string): Promise<Job | undefined> {
  const row = await db
    .selectFrom('jobs')
    .select(['id', 'definition', 'created_at', 'updated_at'])
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
    .select(['id', 'definition', 'created_at', 'updated_at'])
    .where('id', 'in', ids)
    .where('deleted_at', 'is', null)
    .execute();
  return rows.map(toJob);
}

/** Live jobs ordered by name, a page at a time (cursor = last name seen). */
export async function listJobs(db: Db, opts: { limit: number; after?: string }): Promise<{ jobs: Job[]; total: number }> {
  let q = db.selectFrom('jobs').select(['id', 'definition', 'created_at', 'updated_at']).where('deleted_at', 'is', null);
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
    .set({ name: def.name, definition: JSON.stringify(def), priority: def.priority ?? 50, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returning(['id', 'definition', 'created_at', 'updated_at'])
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
