// Compiled job definitions for the dispatcher, so the hot path never parses a definition.
import { compileJob, type CompiledJob } from '@drover/shared';
import type { Db } from '../store/db.js';
import { getJobsByIds, type Job } from '../store/jobs.js';

export interface CachedJob {
  id: string;
  name: string;
  compiled: CompiledJob;
  /** The schedule's overlap policy: `queue` makes a finished run release the one waiting. */
  overlap: string | undefined;
}

export class JobCache {
  private readonly jobs = new Map<string, CachedJob | null>();
  constructor(private readonly db: Db) {}

  /** The compiled jobs for these ids; `null` for a job that no longer exists. */
  async getMany(ids: readonly string[]): Promise<Map<string, CachedJob | null>> {
    const missing = ids.filter((id) => !this.jobs.has(id));
    if (missing.length > 0) {
      const found = await getJobsByIds(this.db, missing);
      for (const id of missing) this.jobs.set(id, null);
      for (const j of found) this.put(j);
    }
    return new Map(ids.map((id) => [id, this.jobs.get(id) ?? null]));
  }

  /** Stores a job just written by this process. */
  put(job: Job): void {
    this.jobs.set(job.id, {
      id: job.id,
      name: job.name,
      compiled: compileJob(job),
      overlap: (job as { schedule?: { overlap?: string } }).schedule?.overlap,
    });
  }

  /** Forgets a job changed elsewhere; the next lookup reads it again. */
  invalidate(id: string): void {
    this.jobs.delete(id);
  }
}
