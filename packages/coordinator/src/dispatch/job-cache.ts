// Compiled job definitions for the dispatcher, so the hot path never parses a definition.
import { compileJob, inBackground, type CompiledJob, type FailureLog, type RetryPolicy } from '@drover/shared';
import type { Db } from '../store/db.js';
import { getJobsByIds, jobVersions, type Job } from '../store/jobs.js';

export interface CachedJob {
  id: string;
  name: string;
  /** The job as the API shows it. */
  job: Job;
  compiled: CompiledJob;
  /** The schedule's overlap policy: `queue` makes a finished run release the one waiting. */
  overlap: string | undefined;
}

export class JobCache {
  private readonly jobs = new Map<string, CachedJob | null>();
  private readonly idByName = new Map<string, string>();
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

  /** The retry policies of these jobs (by id); deleted jobs are left out. */
  async retryPolicies(ids: readonly string[]): Promise<Map<string, RetryPolicy>> {
    const jobs = await this.getMany(ids);
    return new Map([...jobs].flatMap(([id, j]) => (j ? [[id, j.compiled.retry] as const] : [])));
  }

  /** The action triggers each job's actions use (by id); deleted jobs are left out. */
  async actionTriggers(ids: readonly string[]): Promise<Map<string, Set<string>>> {
    const jobs = await this.getMany(ids);
    return new Map([...jobs].flatMap(([id, j]) => (j ? [[id, new Set((j.job.actions ?? []).map((a) => a.trigger))] as const] : [])));
  }

  /** Stores a job just written by this process. */
  put(job: Job): void {
    this.idByName.set(job.name, job.id);
    this.jobs.set(job.id, {
      id: job.id,
      name: job.name,
      job,
      compiled: compileJob(job),
      overlap: (job as { schedule?: { overlap?: string } }).schedule?.overlap,
    });
  }

  /** Forgets a job changed elsewhere; the next lookup reads it again. */
  invalidate(id: string): void {
    const name = this.jobs.get(id)?.name;
    if (name !== undefined && this.idByName.get(name) === id) this.idByName.delete(name);
    this.jobs.delete(id);
  }

  /**
   * Drops every cached job whose version is no longer the database's (changed or deleted, or
   * created since it was cached as missing): the broadcast of a change is a nudge that may be
   * lost, this is what bounds a stale definition to one sweep. Returns how many were dropped.
   */
  async revalidate(): Promise<number> {
    const ids = [...this.jobs.keys()];
    if (ids.length === 0) return 0;
    const live = await jobVersions(this.db, ids);
    let dropped = 0;
    for (const id of ids) {
      const cached = this.jobs.get(id);
      if (cached === undefined) continue;
      if ((cached?.job.version ?? null) !== (live.get(id) ?? null)) {
        this.invalidate(id);
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * Revalidates every `intervalMs` (the reconcile interval: every coordinator, leader or not,
   * since all of them apply reports with the cached retry policies) until the returned stop.
   */
  keepFresh(intervalMs: number, failures: FailureLog): () => void {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const sweep = async (): Promise<void> => {
      try {
        await this.revalidate();
        failures.succeeded('job cache sweep');
      } finally {
        if (!stopped) timer = setTimeout(() => inBackground('job cache sweep', failures, sweep), intervalMs);
      }
    };
    timer = setTimeout(() => inBackground('job cache sweep', failures, sweep), intervalMs);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }

  /**
   * A live job by id or name if this process has it cached, without a query (the trigger hot
   * path). A job changed or deleted on another coordinator is dropped by the broadcast that
   * announces it, or by the next revalidation if that was lost; a run triggered in that instant
   * for a deleted job is cancelled by the dispatcher.
   */
  cached(idOrName: string): Job | undefined {
    return (this.jobs.get(idOrName) ?? this.jobs.get(this.idByName.get(idOrName) ?? ''))?.job;
  }
}
