// The dead-letter list: runs that ended without success after their last allowed attempt.
// Entries are written with the run's final state (store/run-changes.ts); here they are read,
// filtered, and resolved — replayed (the run is retried by hand) or dismissed.
import { sql, type SelectQueryBuilder } from 'kysely';
import type { RunState } from '@drover/shared';
import type { Database } from './schema.js';
import type { Db } from './db.js';
import { iso } from './run-model.js';

export interface DeadLetter {
  runId: string;
  jobId: string;
  jobName: string;
  attempt: number;
  /** The run's final state (failed, timed_out, lost), as run-changes.ts wrote it. */
  state: RunState;
  reason: string;
  createdAt: string;
  resolvedAt: string | null;
  resolution: 'replayed' | 'dismissed' | null;
}

/** Which entries a list or a bulk operation covers. */
export interface DeadLetterFilter {
  jobId?: string;
  /** The run's final state: failed, timed_out, lost. */
  state?: string;
  /** Entries whose reason contains this text (case-insensitive). */
  reasonContains?: string;
  /** Entries created before / after these instants (ms). */
  before?: number;
  after?: number;
  /** open (default), replayed, dismissed or all. */
  status?: 'open' | 'replayed' | 'dismissed' | 'all';
  /** Only entries of jobs in these namespaces; 'all' (or absent) filters nothing. */
  namespaces?: readonly string[] | 'all';
}

const COLUMNS = [
  'd.run_id',
  'd.job_id',
  'j.name',
  'd.attempt',
  'd.state',
  'd.reason',
  'd.created_at',
  'd.resolved_at',
  'd.resolution',
] as const;

interface Row {
  run_id: string;
  job_id: string;
  name: string;
  attempt: number;
  state: string;
  reason: string;
  created_at: Date;
  resolved_at: Date | null;
  resolution: string | null;
}

function toDeadLetter(r: Row): DeadLetter {
  return {
    runId: r.run_id,
    jobId: r.job_id,
    jobName: r.name,
    attempt: r.attempt,
    state: r.state as RunState,
    reason: r.reason,
    createdAt: iso(r.created_at) as string,
    resolvedAt: iso(r.resolved_at),
    resolution: r.resolution as DeadLetter['resolution'],
  };
}

type Query = SelectQueryBuilder<Database & { d: Database['dead_letters'] }, 'd', object>;

function filtered(db: Db, f: DeadLetterFilter): Query {
  let q = db.selectFrom('dead_letters as d') as unknown as Query;
  if (f.namespaces !== undefined && f.namespaces !== 'all') {
    const ns = f.namespaces.length > 0 ? [...f.namespaces] : [''];
    q = q.where('d.job_id', 'in', (eb) => eb.selectFrom('jobs').select('jobs.id').where('jobs.namespace', 'in', ns));
  }
  if (f.jobId) q = q.where('d.job_id', '=', f.jobId);
  if (f.state) q = q.where('d.state', '=', f.state);
  if (f.reasonContains) q = q.where('d.reason', 'ilike', `%${f.reasonContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (f.before !== undefined) q = q.where('d.created_at', '<', new Date(f.before));
  if (f.after !== undefined) q = q.where('d.created_at', '>', new Date(f.after));
  const status = f.status ?? 'open';
  if (status === 'open') q = q.where('d.resolved_at', 'is', null);
  else if (status !== 'all') q = q.where('d.resolution', '=', status);
  return q;
}

/** Newest entries first; the cursor is the last entry's `createdAt|runId`. */
export async function listDeadLetters(
  db: Db,
  filter: DeadLetterFilter,
  page: { limit: number; cursor?: { at: number; runId: string } },
): Promise<{ items: DeadLetter[]; total: number }> {
  let q = filtered(db, filter).innerJoin('jobs as j', 'j.id', 'd.job_id').select(COLUMNS);
  if (page.cursor) {
    const c = page.cursor;
    q = q.where(sql<boolean>`(d.created_at, d.run_id) < (${new Date(c.at)}, ${c.runId})`);
  }
  const [rows, count] = await Promise.all([
    q.orderBy('d.created_at', 'desc').orderBy('d.run_id', 'desc').limit(page.limit).execute(),
    filtered(db, filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toDeadLetter), total: Number(count.n) };
}

/** The run ids of the entries a filter covers (at most `limit`). */
export async function deadLetterRunIds(db: Db, filter: DeadLetterFilter, limit: number): Promise<string[]> {
  const rows = await filtered(db, filter).select('d.run_id').orderBy('d.created_at').limit(limit).execute();
  return rows.map((r) => r.run_id);
}

/** Dismisses open entries; returns the run ids dismissed. */
export async function dismissDeadLetters(db: Db, runIds: readonly string[], at: number): Promise<string[]> {
  if (runIds.length === 0) return [];
  const rows = await db
    .updateTable('dead_letters')
    .set({ resolved_at: new Date(at), resolution: 'dismissed' })
    .where('run_id', 'in', [...runIds])
    .where('resolved_at', 'is', null)
    .returning('run_id')
    .execute();
  return rows.map((r) => r.run_id);
}

/** One entry by run id, whatever its status. */
export async function getDeadLetter(db: Db, runId: string): Promise<DeadLetter | undefined> {
  const row = await db
    .selectFrom('dead_letters as d')
    .innerJoin('jobs as j', 'j.id', 'd.job_id')
    .select(COLUMNS)
    .where('d.run_id', '=', runId)
    .executeTakeFirst();
  return row && toDeadLetter(row);
}
