// Schedule state: for each scheduled job, the last fire handled and the next one due. The
// scheduler wakes for the earliest `next_fire_at` (an index, not a periodic sweep).
import { sql } from 'kysely';
import type { Db } from './db.js';
import type { JobDefinition } from '@drover/shared';

/** Sets (or clears, with `next` null) a job's schedule state when its schedule is created or changed. */
export async function resetScheduleState(db: Db, jobId: string, next: number | null, from: number): Promise<void> {
  await sql`
    INSERT INTO schedule_state (job_id, last_fire_at, next_fire_at)
    VALUES (${jobId}, to_timestamp(${from} / 1000.0), to_timestamp(${next} / 1000.0))
    ON CONFLICT (job_id) DO UPDATE SET last_fire_at = EXCLUDED.last_fire_at, next_fire_at = EXCLUDED.next_fire_at,
      paused_from = NULL, resumed_at = NULL, updated_at = now()`.execute(db);
}

/** Forgets a job's schedule (the job was deleted or lost its schedule). */
export async function deleteScheduleState(db: Db, jobId: string): Promise<void> {
  await db.deleteFrom('schedule_state').where('job_id', '=', jobId).execute();
}

/** Remembers a pause that just ended, so catch-up can say which fires the pause cost. */
export async function recordResume(db: Db, jobId: string, pausedFrom: Date, resumedAt: number): Promise<void> {
  await sql`UPDATE schedule_state SET paused_from = ${pausedFrom}, resumed_at = to_timestamp(${resumedAt} / 1000.0), updated_at = now() WHERE job_id = ${jobId}`.execute(
    db,
  );
}

/** A scheduled job whose next fire is due. */
export interface DueSchedule {
  jobId: string;
  name: string;
  priority: number;
  definition: JobDefinition;
  updatedAt: Date;
  lastFireAt: number | null;
  nextFireAt: number;
  pausedFrom: number | null;
  resumedAt: number | null;
}

/** Live, unpaused jobs whose next fire is at or before `now`, earliest first. */
export async function dueSchedules(db: Db, now: number, limit: number): Promise<DueSchedule[]> {
  const res = await sql<{
    job_id: string;
    name: string;
    priority: number;
    definition: JobDefinition;
    updated_at: Date;
    last_fire_at: Date | null;
    next_fire_at: Date;
    paused_from: Date | null;
    resumed_at: Date | null;
  }>`
    SELECT s.job_id, j.name, j.priority, j.definition, j.updated_at, s.last_fire_at, s.next_fire_at, s.paused_from, s.resumed_at
      FROM schedule_state s JOIN jobs j ON j.id = s.job_id
     WHERE s.next_fire_at <= to_timestamp(${now} / 1000.0) AND j.deleted_at IS NULL AND j.paused_at IS NULL
     ORDER BY s.next_fire_at
     LIMIT ${limit}`.execute(db);
  const ms = (d: Date | null) => (d === null ? null : d.getTime());
  return res.rows.map((r) => ({
    jobId: r.job_id,
    name: r.name,
    priority: r.priority,
    definition: r.definition,
    updatedAt: r.updated_at,
    lastFireAt: ms(r.last_fire_at),
    nextFireAt: r.next_fire_at.getTime(),
    pausedFrom: ms(r.paused_from),
    resumedAt: ms(r.resumed_at),
  }));
}

/**
 * Moves schedules on after their fires were handled, in one statement. Guarded by the
 * `next_fire_at` that was read, so a second scheduler that handled the same fires moments
 * earlier does not move a schedule twice (and its runs were deduplicated by the fire key).
 */
export async function advanceSchedules(
  db: Db,
  moves: ReadonlyArray<{ jobId: string; expectedNext: number; last: number; next: number | null }>,
): Promise<void> {
  if (moves.length === 0) return;
  const input = JSON.stringify(moves.map((m) => ({ job_id: m.jobId, expected: m.expectedNext, last: m.last, next: m.next })));
  await sql`
    UPDATE schedule_state s
       SET last_fire_at = to_timestamp(i.last / 1000.0), next_fire_at = to_timestamp(i.next / 1000.0), updated_at = now()
      FROM jsonb_to_recordset(${input}::jsonb) AS i(job_id text, expected double precision, last double precision, next double precision)
     WHERE s.job_id = i.job_id AND s.next_fire_at = to_timestamp(i.expected / 1000.0)`.execute(db);
}

/** When the scheduler must wake next: the earliest due fire, delayed run or retry, or null. */
export async function nextWake(db: Db): Promise<number | null> {
  const res = await sql<{ at: Date | null }>`
    SELECT least(
      (SELECT min(s.next_fire_at) FROM schedule_state s JOIN jobs j ON j.id = s.job_id WHERE j.deleted_at IS NULL AND j.paused_at IS NULL),
      (SELECT min(not_before) FROM runs WHERE state IN ('pending', 'retrying') AND not_before IS NOT NULL)
    ) AS at`.execute(db);
  return res.rows[0]?.at?.getTime() ?? null;
}

/** Live runs per job: active (queued, offered, running, retrying) and waiting behind them (overlap `queue`). */
export async function liveRunCounts(db: Db, jobIds: readonly string[]): Promise<Map<string, { active: string[]; waiting: number }>> {
  const out = new Map<string, { active: string[]; waiting: number }>();
  if (jobIds.length === 0) return out;
  const rows = await db
    .selectFrom('runs')
    .select(['id', 'job_id', 'state', 'not_before'])
    .where('job_id', 'in', [...jobIds])
    .where('state', 'in', ['pending', 'queued', 'offered', 'running', 'retrying'])
    .execute();
  for (const r of rows) {
    const e = out.get(r.job_id) ?? { active: [], waiting: 0 };
    if (r.state === 'pending') {
      if (r.not_before === null) e.waiting++;
    } else e.active.push(r.id);
    out.set(r.job_id, e);
  }
  return out;
}

/**
 * Fires after `after` (epoch ms) that already have a run, per job: a restart mid-tick or a
 * second scheduler handles them again, and must not decide anything about them twice.
 */
export async function firesWithRuns(db: Db, jobIds: readonly string[], after: number): Promise<Map<string, Set<number>>> {
  const out = new Map<string, Set<number>>();
  if (jobIds.length === 0) return out;
  const rows = await db
    .selectFrom('runs')
    .select(['job_id', 'fire_at'])
    .where('job_id', 'in', [...jobIds])
    .where('fire_at', '>', new Date(after))
    .execute();
  for (const r of rows) {
    if (r.fire_at === null) continue;
    const set = out.get(r.job_id) ?? new Set<number>();
    set.add(new Date(r.fire_at).getTime());
    out.set(r.job_id, set);
  }
  return out;
}

/**
 * → queued for delayed runs (pending) and retries (retrying) whose time has come; returns them
 * for the ready queue.
 */
export async function releaseDelayedRuns(db: Db, now: number): Promise<Array<{ runId: string; jobId: string; priority: number }>> {
  const res = await sql<{ id: string; job_id: string; priority: number }>`
    WITH due AS (
      SELECT id, state FROM runs
       WHERE state IN ('pending', 'retrying') AND not_before <= to_timestamp(${now} / 1000.0)
       FOR UPDATE SKIP LOCKED
    ), upd AS (
      UPDATE runs r SET state = 'queued', queued_at = to_timestamp(${now} / 1000.0), queue_reason = NULL
        FROM due WHERE r.id = due.id
      RETURNING r.id, r.job_id, r.priority, r.attempt_token, r.attempt, due.state AS from_state
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, reason, at)
      SELECT id, from_state, 'queued', attempt_token,
             CASE WHEN from_state = 'retrying' THEN 'its backoff is over (attempt ' || (attempt + 1) || ' next)' ELSE 'its delay is over' END,
             to_timestamp(${now} / 1000.0) FROM upd
    )
    SELECT id, job_id, priority FROM upd`.execute(db);
  return res.rows.map((r) => ({ runId: r.id, jobId: r.job_id, priority: r.priority }));
}

/**
 * pending → queued for the oldest waiting run (overlap `queue`) of each given job that has no
 * active run left. Returns them for the ready queue.
 */
export async function releaseWaitingRuns(
  db: Db,
  jobIds: readonly string[],
  now: number,
): Promise<Array<{ runId: string; jobId: string; priority: number }>> {
  if (jobIds.length === 0) return [];
  const res = await sql<{ id: string; job_id: string; priority: number }>`
    WITH next AS (
      SELECT DISTINCT ON (r.job_id) r.id
        FROM runs r
       WHERE r.job_id = ANY(${[...jobIds]}::text[]) AND r.state = 'pending' AND r.not_before IS NULL
         AND NOT EXISTS (SELECT 1 FROM runs a WHERE a.job_id = r.job_id AND a.state IN ('queued', 'offered', 'running'))
       ORDER BY r.job_id, r.id
    ), upd AS (
      UPDATE runs SET state = 'queued', queued_at = to_timestamp(${now} / 1000.0), queue_reason = NULL
        FROM next WHERE runs.id = next.id AND runs.state = 'pending'
      RETURNING runs.id, runs.job_id, runs.priority, runs.attempt_token
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, reason, at)
      SELECT id, 'pending', 'queued', attempt_token, 'the previous run ended', to_timestamp(${now} / 1000.0) FROM upd
    )
    SELECT id, job_id, priority FROM upd`.execute(db);
  return res.rows.map((r) => ({ runId: r.id, jobId: r.job_id, priority: r.priority }));
}

/** Jobs with runs waiting behind an active one (overlap `queue`: pending with no not_before). */
export async function jobsWithWaitingRuns(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom('runs')
    .select('job_id')
    .distinct()
    .where('state', '=', 'pending')
    .where('not_before', 'is', null)
    .execute();
  return rows.map((r) => r.job_id);
}
