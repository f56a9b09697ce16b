// Keeping a job's schedule state in step with its definition, and pausing/resuming it.
import { compileSchedule, nextFire, type ScheduleSpec } from '@drover/shared';
import type { CoordinatorContext } from '../context.js';
import type { Job } from '../store/jobs.js';
import { setPaused } from '../store/jobs.js';
import { deleteScheduleState, recordResume, resetScheduleState } from '../store/schedules.js';
import { inTransaction, type Db } from '../store/db.js';
import { invalidInput } from '../domain-error.js';

const scheduleOf = (job: Job | undefined): ScheduleSpec | undefined => (job as { schedule?: ScheduleSpec } | undefined)?.schedule;

/**
 * After a job was created, changed or deleted, within the same transaction: a new or changed
 * schedule starts from now (no catch-up for fires before it existed); a removed one is
 * forgotten. Returns whether the scheduler must be told (after commit: `scheduleChanged`).
 * A one-off `at` already in the past is refused: it could never fire.
 */
export async function syncSchedule(ctx: CoordinatorContext, db: Db, job: Job | undefined, previous: Job | undefined): Promise<boolean> {
  const now = ctx.now();
  const spec = scheduleOf(job);
  const before = scheduleOf(previous);
  if (job && spec) {
    if (before && JSON.stringify(before) === JSON.stringify(spec)) return false;
    const next = nextFire(compileSchedule(spec), now);
    if (next === null && spec.at !== undefined) {
      throw invalidInput([{ field: 'schedule.at', message: `${spec.at} is in the past; a one-off schedule needs a future instant` }]);
    }
    await resetScheduleState(db, job.id, next, now);
    return true;
  }
  if (before && previous) {
    await deleteScheduleState(db, previous.id);
    return true;
  }
  return false;
}

/** Tells the scheduler (on whichever coordinator leads) that schedules changed. */
export function scheduleChanged(ctx: CoordinatorContext): void {
  ctx.signals.scheduleChanged();
}

/** Pauses a job's schedule: its fires are missed until it is resumed. */
export async function pauseJob(ctx: CoordinatorContext, jobId: string): Promise<Job | undefined> {
  const r = await setPaused(ctx.db, jobId, ctx.now());
  if (r) ctx.signals.scheduleChanged();
  return r?.job;
}

/** Resumes a paused schedule; fires missed while paused follow the job's catch-up policy. */
export async function resumeJob(ctx: CoordinatorContext, jobId: string): Promise<Job | undefined> {
  const now = ctx.now();
  // One transaction: a scheduler must never see the job unpaused without the pause window, or
  // it would take the fires the pause cost for merely late ones and run them.
  const r = await inTransaction(ctx.db, async (trx) => {
    const done = await setPaused(trx, jobId, null);
    if (done?.wasPausedAt) await recordResume(trx, jobId, done.wasPausedAt, now);
    return done;
  });
  if (!r) return undefined;
  ctx.signals.scheduleChanged();
  return r.job;
}
