// The `skip_next` mark on a schedule: the first fire at or after `schedule_state.skip_next_after`
// becomes a skipped run. A mark is live until a fire at or after it has a run: that test, not
// the column alone, is what the scheduler trusts, so a crash between creating the skipped run
// and clearing the column never skips a second fire.
import { sql } from 'kysely';
import type { Db } from './db.js';

/** A fire at or after the mark already has a run: the mark was used. */
const USED = sql`EXISTS (SELECT 1 FROM runs r WHERE r.job_id = s.job_id AND r.fire_at >= s.skip_next_after)`;

/**
 * Marks a scheduled job's next fire to be skipped, and records on the action run that did it
 * which mark it set (in the same statement, so the scheduler can always name the run whose
 * action skipped the fire). A live mark is kept: two actions before one fire skip that fire
 * once. Returns undefined when the job has no schedule state or no fire to come.
 */
export async function markSkipNext(
  db: Db,
  actionId: number,
  jobId: string,
  now: number,
): Promise<{ skipNextAfter: string; nextFireAt: string } | undefined> {
  const res = await sql<{ result: { skipNextAfter: string; nextFireAt: string } }>`
    WITH mark AS (
      UPDATE schedule_state s
         SET skip_next_after = CASE WHEN s.skip_next_after IS NOT NULL AND NOT ${USED} THEN s.skip_next_after
                                    ELSE to_timestamp(${now} / 1000.0) END
       WHERE s.job_id = ${jobId} AND s.next_fire_at IS NOT NULL
      RETURNING s.skip_next_after, s.next_fire_at
    )
    UPDATE action_runs a
       SET result = jsonb_build_object('skipNextAfter', mark.skip_next_after, 'nextFireAt', mark.next_fire_at)
      FROM mark WHERE a.id = ${actionId}
    RETURNING a.result`.execute(db);
  return res.rows[0]?.result;
}

/** A live mark: the first fire at or after `after` is skipped because of run `runId`'s action. */
export interface SkipNextMark {
  after: number;
  /** The run whose `skip_next` action set the mark (null if its record is gone). */
  runId: string | null;
}

/** The live marks of these jobs (usually none: one cheap look-up per scheduler chunk). */
export async function skipNextMarks(db: Db, jobIds: readonly string[]): Promise<Map<string, SkipNextMark>> {
  const out = new Map<string, SkipNextMark>();
  if (jobIds.length === 0) return out;
  const res = await sql<{ job_id: string; skip_next_after: Date; run_id: string | null }>`
    SELECT s.job_id, s.skip_next_after,
           -- The action ran for one of the job's recent runs: probe their actions by run id
           -- (indexed) rather than scan every action run.
           (SELECT a.run_id FROM (SELECT id FROM runs WHERE job_id = s.job_id ORDER BY id DESC LIMIT 1000) r
              JOIN action_runs a ON a.run_id = r.id
             WHERE (a.result ->> 'skipNextAfter')::timestamptz = s.skip_next_after
             ORDER BY a.id LIMIT 1) AS run_id
      FROM schedule_state s
     WHERE s.job_id = ANY(${[...jobIds]}::text[]) AND s.skip_next_after IS NOT NULL AND NOT ${USED}`.execute(db);
  for (const r of res.rows) out.set(r.job_id, { after: r.skip_next_after.getTime(), runId: r.run_id });
  return out;
}

/** Clears marks a fire has used; guarded by the mark that was read, so a newer one stays. */
export async function clearSkipNext(db: Db, used: ReadonlyArray<{ jobId: string; after: number }>): Promise<void> {
  if (used.length === 0) return;
  const input = JSON.stringify(used.map((u) => ({ job_id: u.jobId, after: u.after })));
  await sql`
    UPDATE schedule_state s SET skip_next_after = NULL
      FROM jsonb_to_recordset(${input}::jsonb) AS i(job_id text, after double precision)
     WHERE s.job_id = i.job_id AND s.skip_next_after = to_timestamp(i.after / 1000.0)`.execute(db);
}
