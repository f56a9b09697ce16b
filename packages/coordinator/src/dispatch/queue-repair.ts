// The ready queue is a cache of PostgreSQL: the reconciler makes its membership match the runs
// `queued` there, every sweep. Counting is not enough: entries of deleted jobs or of runs long
// offered (a removal that failed after its commit) would hide as many lost runs, forever.
//
// One sweep: read what Redis holds (job by job, a page at a time), then walk PostgreSQL's
// queued runs a page at a time by run id, crossing each off. A queued run Redis lacks is put
// back, if it was queued a few seconds ago or earlier (so an enqueue in flight is left to
// finish). What is left uncrossed is not queued in PostgreSQL: it is evicted.
//
// The comparison reads every queued run on both sides (one to two seconds per 100,000 on a small
// machine), so it runs in full on a leader's first sweep and once a minute; in between, each
// sweep counts runs per job on both sides and compares only the jobs whose counts prove the
// queue wrong (Redis lost its keys, a crash between the two writes, entries of a deleted job).
// A stale entry hiding a lost run of the same job behind equal counts is found within the
// minute, not never.
//
// Races, and why they are harmless:
// - Redis is read first, and every enqueue follows its PostgreSQL commit, so an entry Redis
//   holds is committed by the time its page is read: a queued run is never evicted for being
//   "not yet there".
// - A run claimed between the two reads looks missing and is put back: the dispatcher's guarded
//   offer (state must be `queued`) drops it when claimed again, and the next sweep evicts it.
// - A run queued anew (an offer refused, a retry) between its page and the eviction would be
//   lost from Redis: the eviction script names what it removed, and exactly those are looked
//   up again afterwards and put back if queued. Any later re-queue enqueues after the removal.
import type { Db } from '../store/db.js';
import { queuedCountsByJob, queuedRunsAmong, queuedRunsPage } from '../store/queued-runs.js';
import type { ReadyQueue } from '../queue/ready-queue.js';

/** Runs queued more recently than this are left to the enqueue in flight. */
const SETTLE_SECONDS = 5;
const JOBS_PAGE = 1000;
const RUNS_PAGE = 10_000;
const PG_PAGE = 10_000;

/** The full comparison runs at least this often, whatever the counts say. */
export const FULL_COMPARE_EVERY_MS = 60_000;
/** When each queue (so each leader process) last compared in full. */
const lastFull = new WeakMap<ReadyQueue, number>();

/** What one repair did. */
export interface QueueRepair {
  /** Queued runs Redis lacked, now put back. */
  restored: number;
  /** Entries whose run is not queued in PostgreSQL, now taken out. */
  evicted: number;
  /** Queued runs compared (PostgreSQL's side). */
  compared: number;
}

/** Reads every run the queue holds (of `only` those jobs): run id → job id. Entries moved meanwhile may be missed. */
async function queueMembers(queue: ReadyQueue, only?: ReadonlySet<string>): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  for (let offset = 0; ; offset += JOBS_PAGE) {
    const page = await queue.readyJobs(offset, JOBS_PAGE);
    const { more } = page;
    const jobs = only ? page.jobs.filter((j) => only.has(j.jobId)) : page.jobs;
    for (let from = 0, left = jobs; left.length > 0; from += RUNS_PAGE) {
      const pages = await queue.runsOf(
        left.map((j) => j.jobId),
        from,
        RUNS_PAGE,
      );
      pages.forEach((ids, i) => {
        for (const id of ids) held.set(id, (left[i] as { jobId: string }).jobId);
      });
      left = left.filter((j, i) => (pages[i] as string[]).length === RUNS_PAGE && j.depth > from + RUNS_PAGE);
    }
    if (!more) return held;
  }
}

/**
 * The reconciler's step: compares every job when a minute has passed since the last full
 * comparison, else only the jobs whose counts disagree (all of them after Redis lost its keys);
 * returns undefined when it did not compare.
 */
export async function repairQueueIfDue(db: Db, queue: ReadyQueue, now: number): Promise<QueueRepair | undefined> {
  const last = lastFull.get(queue);
  if (last === undefined || now - last >= FULL_COMPARE_EVERY_MS) {
    const repair = await repairQueue(db, queue);
    lastFull.set(queue, now);
    return repair;
  }
  const wrong = await jobsWhoseCountsDisagree(db, queue);
  if (wrong.size === 0) return undefined;
  // A long list of job ids costs more in one statement than the plain walk by run id.
  return repairQueue(db, queue, wrong.size > JOBS_PAGE ? undefined : wrong);
}

/**
 * The jobs whose counts prove the queue wrong: more settled queued runs in PostgreSQL than Redis
 * holds for the job (lost runs), or more in Redis than PostgreSQL has queued at all (stale
 * entries, e.g. of a deleted job). One grouped count, one page per 1000 jobs. A run claimed at
 * that moment can make its job look wrong: comparing that job costs only its own runs.
 */
async function jobsWhoseCountsDisagree(db: Db, queue: ReadyQueue): Promise<Set<string>> {
  const held = new Map<string, number>();
  for (let offset = 0; ; offset += JOBS_PAGE) {
    const { jobs, more } = await queue.readyJobs(offset, JOBS_PAGE);
    for (const j of jobs) held.set(j.jobId, j.depth);
    if (!more) break;
  }
  const counts = await queuedCountsByJob(db, SETTLE_SECONDS);
  const wrong = new Set<string>();
  for (const c of counts) {
    const depth = held.get(c.jobId) ?? 0;
    held.delete(c.jobId);
    if (Number(c.settled) > depth || depth > Number(c.total)) wrong.add(c.jobId);
  }
  // Jobs Redis holds runs for that have none queued in PostgreSQL.
  for (const jobId of held.keys()) wrong.add(jobId);
  return wrong;
}

/** Makes the queue hold exactly the runs queued in PostgreSQL (those still settling aside), for every job or `only` those. */
export async function repairQueue(db: Db, queue: ReadyQueue, only?: ReadonlySet<string>): Promise<QueueRepair> {
  const held = await queueMembers(queue, only);
  let restored = 0;
  let compared = 0;
  // Pages by run id, newest first (the runs_state index is (state, id DESC)).
  for (let before: string | undefined; ;) {
    const page = await queuedRunsPage(db, { settleSeconds: SETTLE_SECONDS, only, before, limit: PG_PAGE });
    compared += page.length;
    const missing = [];
    for (const r of page) {
      if (held.get(r.runId) === r.jobId) held.delete(r.runId);
      else if (r.settled) missing.push({ runId: r.runId, jobId: r.jobId, priority: r.priority });
    }
    await queue.enqueue(missing);
    restored += missing.length;
    if (page.length < PG_PAGE) break;
    before = (page[page.length - 1] as { runId: string }).runId;
  }
  return { restored, evicted: await evictStale(db, queue, held), compared };
}

/** Takes out entries whose run is not queued, then puts back any queued anew in between. */
async function evictStale(db: Db, queue: ReadyQueue, stale: Map<string, string>): Promise<number> {
  if (stale.size === 0) return 0;
  const byJob = new Map<string, string[]>();
  for (const [runId, jobId] of stale) byJob.set(jobId, [...(byJob.get(jobId) ?? []), runId]);
  const evicted: string[] = [];
  for (const [jobId, runIds] of byJob)
    for (let i = 0; i < runIds.length; i += RUNS_PAGE) evicted.push(...(await queue.evict(jobId, runIds.slice(i, i + RUNS_PAGE))));
  let putBack = 0;
  for (let i = 0; i < evicted.length; i += PG_PAGE) {
    const requeued = await queuedRunsAmong(db, evicted.slice(i, i + PG_PAGE));
    await queue.enqueue(requeued);
    putBack += requeued.length;
  }
  return evicted.length - putBack;
}
