// Look-ups every route needs, failing with the 404 that says how to find what exists.
import type { Db } from '../store/db.js';
import { getJob, type Job } from '../store/jobs.js';
import { notFound } from './problem.js';

/** The live job with this id or name, or a 404 pointing at the job list. */
export async function requireJob(db: Db, idOrName: string): Promise<Job> {
  const job = await getJob(db, idOrName);
  if (!job) throw notFound('job', idOrName, 'list jobs with GET /v1/jobs');
  return job;
}
