// The `skip_next` action: the job's next scheduled fire becomes a skipped run. The action only
// marks the schedule (and notes the mark on its own record, in the same statement); the
// scheduler, on whichever coordinator leads, honours the mark when that fire comes.
import { getJobsByIds } from '../store/jobs.js';
import { markSkipNext } from '../store/skip-next.js';
import type { ActionExecutor } from './executor.js';

export const runSkipNext: ActionExecutor = async (action, env) => {
  const [job] = await getJobsByIds(env.ctx.db, [action.jobId]);
  if (!job) return { ok: false, permanent: true, error: `job ${action.jobId} no longer exists: there is no fire to skip` };
  if (!job.schedule) return { ok: false, permanent: true, error: `job ${job.name} has no schedule: skip_next has no fire to skip` };
  const mark = await markSkipNext(env.ctx.db, action.id, job.id, env.ctx.now());
  if (!mark) return { ok: false, permanent: true, error: `job ${job.name} has no fire to come: skip_next has nothing to skip` };
  return { ok: true, result: mark };
};
