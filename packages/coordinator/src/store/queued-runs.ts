// The runs queued in PostgreSQL, read for the ready queue's repair (dispatch/queue-repair.ts),
// which compares them with what Redis holds. A run queued less than `settleSeconds` ago is
// "not settled": its enqueue may still be in flight.
import { sql } from 'kysely';
import type { Db } from './db.js';

/** A queued run as the ready queue holds it. */
export interface QueuedRun {
  runId: string;
  jobId: string;
  priority: number;
}

/** Per job with queued runs: how many, and how many of them are settled. One grouped count. */
export async function queuedCountsByJob(db: Db, settleSeconds: number): Promise<Array<{ jobId: string; total: string; settled: string }>> {
  return db
    .selectFrom('runs')
    .select(['job_id as jobId'])
    .select(sql<string>`count(*)`.as('total'))
    .select(sql<string>`count(*) FILTER (WHERE queued_at < now() - make_interval(secs => ${settleSeconds}))`.as('settled'))
    .where('state', '=', 'queued')
    .groupBy('job_id')
    .execute();
}

/** One page of queued runs (of `only` those jobs), newest id first, ids below `before`; the runs_state index is (state, id DESC). */
export async function queuedRunsPage(
  db: Db,
  page: { settleSeconds: number; only?: ReadonlySet<string>; before?: string; limit: number },
): Promise<Array<QueuedRun & { settled: boolean }>> {
  const { settleSeconds, only, before, limit } = page;
  return db
    .selectFrom('runs')
    .select(['id as runId', 'job_id as jobId', 'priority'])
    .select(sql<boolean>`queued_at < now() - make_interval(secs => ${settleSeconds})`.as('settled'))
    .where('state', '=', 'queued')
    .$if(only !== undefined, (q) => q.where('job_id', 'in', [...(only as ReadonlySet<string>)]))
    .$if(before !== undefined, (q) => q.where('id', '<', before as string))
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** Those of these runs that are queued. */
export async function queuedRunsAmong(db: Db, runIds: readonly string[]): Promise<QueuedRun[]> {
  return db
    .selectFrom('runs')
    .select(['id as runId', 'job_id as jobId', 'priority'])
    .where('state', '=', 'queued')
    .where('id', 'in', [...runIds])
    .execute();
}
