// The scheduler turns schedule fires into runs. It runs on the coordinator holding the
// dispatcher lease, sleeps until the earliest due fire or delayed run (read from an index),
// and handles every due job in one batch: one insert for all runs, one update for all
// schedules. A run per fire is unique in PostgreSQL, so a second scheduler (during a lease
// handover) or a restart mid-tick cannot create two.
import {
  compileSchedule,
  DEFAULT_CATCH_UP_CAP,
  failureLogOf,
  firesBetween,
  nextFire,
  type CompiledSchedule,
  type JobDefinition,
  type ScheduleSpec,
} from '@drover/shared';
import type { CoordinatorContext } from '../context.js';
import { enqueueRuns, type RunRequest } from '../ops/enqueue.js';
import { queueCommitted } from '../ops/queue-committed.js';
import { cancelRuns } from '../ops/cancel-runs.js';
import {
  advanceSchedules,
  dueSchedules,
  firesWithRuns,
  liveRunCounts,
  nextWake,
  releaseDelayedRuns,
  type DueSchedule,
} from '../store/schedules.js';
import type { Job } from '../store/jobs.js';
import { clearSkipNext, skipNextMarks } from '../store/skip-next.js';
import { planFires, skipNextReason } from './plan-fires.js';
import { PassLoop } from '../background/pass-loop.js';

const BATCH = 10_000;
/** Due schedules handled per statement, and how many such chunks are in flight at once. */
const CHUNK = 1000;
const PARALLEL_CHUNKS = 3;
/** Longest sleep: a safety net in case a wake-up message was lost. */
const MAX_SLEEP_MS = 30_000;
/** Most fires of one job handled in one tick; the rest follow in the next (at once). */
const MAX_FIRES_PER_TICK = 1000;

/** What one tick did, for logs and tests. */
export interface TickReport {
  fires: number;
  started: number;
  skipped: number;
  waiting: number;
  released: number;
}

export class Scheduler {
  private readonly compiled = new Map<string, { version: number; schedule: CompiledSchedule | null }>();
  /** Ticks run one at a time, each followed by a sleep until the next due fire; a failed one is retried in 1 s. */
  private readonly loop: PassLoop;

  constructor(private readonly ctx: CoordinatorContext) {
    this.loop = new PassLoop({ name: 'scheduler tick', failures: failureLogOf(ctx.log), retryMs: 1000, pass: () => this.tickAndSleep() });
  }

  /** Looks at the schedules now (a job or a delay changed, or leadership was just taken). */
  poke(): void {
    this.loop.kick();
  }

  stop(): void {
    void this.loop.stop();
  }

  /** One tick; returns how long to sleep: until the next due fire or delayed run, at most MAX_SLEEP_MS. */
  private async tickAndSleep(): Promise<number> {
    const report = await this.tick();
    if (report.fires > 0 || report.released > 0) this.ctx.log.debug(report, 'scheduler tick');
    // A poke that arrives while the next wake-up is read makes the loop tick again at once.
    const wake = await nextWake(this.ctx.db);
    return wake === null ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(0, wake - this.ctx.now()));
  }

  private scheduleOf(d: DueSchedule): CompiledSchedule | null {
    const version = d.updatedAt.getTime();
    const hit = this.compiled.get(d.jobId);
    if (hit && hit.version === version) return hit.schedule;
    let schedule: CompiledSchedule | null = null;
    const spec = (d.definition as JobDefinition & { schedule?: ScheduleSpec }).schedule;
    try {
      schedule = spec ? compileSchedule(spec) : null;
    } catch (err) {
      this.ctx.log.error({ jobId: d.jobId, err: (err as Error).message }, 'a stored schedule no longer compiles; it will not fire');
    }
    this.compiled.set(d.jobId, { version, schedule });
    return schedule;
  }

  /** Handles every fire due at `now` and every delayed run whose time has come. */
  async tick(): Promise<TickReport> {
    // The cluster clock (PostgreSQL's): fires follow it whatever this host's clock says.
    const now = this.ctx.now();
    const report: TickReport = { fires: 0, started: 0, skipped: 0, waiting: 0, released: 0 };
    const released = await releaseDelayedRuns(this.ctx.db, now);
    if (released.length > 0) {
      // Tell the dispatcher, as enqueueRuns does: otherwise released runs wait for its next sweep.
      if (await queueCommitted(this.ctx.queue, this.ctx.log, released)) this.ctx.signals.queueReady();
      report.released = released.length;
    }
    for (;;) {
      const due = await dueSchedules(this.ctx.db, now, BATCH);
      if (due.length === 0) break;
      // Chunks of different jobs are independent: handle a few at once, so PostgreSQL and
      // Redis work on one chunk while this process plans the next.
      const chunks: DueSchedule[][] = [];
      for (let i = 0; i < due.length; i += CHUNK) chunks.push(due.slice(i, i + CHUNK));
      let nextChunk = 0;
      await Promise.all(
        Array.from({ length: Math.min(PARALLEL_CHUNKS, chunks.length) }, async () => {
          while (nextChunk < chunks.length) await this.handle(chunks[nextChunk++] as DueSchedule[], now, report);
        }),
      );
      if (due.length < BATCH) break;
    }
    return report;
  }

  /** Turns one chunk of due schedules into runs: one insert for the chunk, one schedule update. */
  private async handle(due: DueSchedule[], now: number, report: TickReport): Promise<void> {
    const live = await liveRunCounts(
      this.ctx.db,
      due.map((d) => d.jobId),
    );
    // Read after the live runs: a run another scheduler creates in between is seen here, so its
    // fire is left alone, and it was not yet active above, so it is not cancelled (`replace`).
    const handled = await firesWithRuns(
      this.ctx.db,
      due.map((d) => d.jobId),
      Math.min(...due.map((d) => (d.lastFireAt !== null && d.lastFireAt < d.nextFireAt ? d.lastFireAt : d.nextFireAt - 1))),
    );
    const marks = await skipNextMarks(
      this.ctx.db,
      due.map((d) => d.jobId),
    );
    const usedMarks: Array<{ jobId: string; after: number }> = [];
    const requests: RunRequest[] = [];
    const cancel: string[] = [];
    const moves: Array<{ jobId: string; expectedNext: number; last: number; next: number | null }> = [];
    for (const d of due) {
      const schedule = this.scheduleOf(d);
      if (!schedule) {
        moves.push({ jobId: d.jobId, expectedNext: d.nextFireAt, last: d.lastFireAt ?? now, next: null });
        continue;
      }
      const from = d.lastFireAt !== null && d.lastFireAt < d.nextFireAt ? d.lastFireAt : d.nextFireAt - 1;
      const fires = firesBetween(schedule, from, now, MAX_FIRES_PER_TICK);
      // The rest of a long catch-up is more recent: `latest` and the cap must leave room for it.
      const laterFires =
        fires.length >= MAX_FIRES_PER_TICK ? firesBetween(schedule, fires[fires.length - 1] as number, now, DEFAULT_CATCH_UP_CAP) : [];
      const done = handled.get(d.jobId);
      const fresh = done ? fires.filter((f) => !done.has(f)) : fires;
      const counts = live.get(d.jobId) ?? { active: [], waiting: 0 };
      const def = d.definition as JobDefinition & { maxConcurrentRuns?: number };
      const mark = marks.get(d.jobId);
      const plan = planFires({
        schedule,
        fires: fresh,
        laterFires,
        now,
        active: counts.active,
        waiting: counts.waiting,
        maxConcurrentRuns: def.maxConcurrentRuns ?? null,
        pausedFrom: d.pausedFrom,
        resumedAt: d.resumedAt,
        skipNext: mark && { after: mark.after, reason: skipNextReason(mark.runId) },
      });
      if (mark && plan.skippedNext) usedMarks.push({ jobId: d.jobId, after: mark.after });
      const job = { ...def, id: d.jobId, priority: d.priority } as Job;
      for (const a of plan.actions) {
        if (a.action === 'start') requests.push({ job, trigger: 'schedule', fireAt: a.fireAt });
        else
          requests.push({
            job,
            trigger: 'schedule',
            fireAt: a.fireAt,
            state: a.action === 'skip' ? 'skipped' : 'pending',
            reason: a.reason,
          });
        report[a.action === 'start' ? 'started' : a.action === 'skip' ? 'skipped' : 'waiting']++;
      }
      cancel.push(...plan.cancel);
      report.fires += fresh.length;
      const last = fires.length > 0 ? (fires[fires.length - 1] as number) : from;
      // More fires than one tick takes: come back for the rest at once.
      const next = fires.length >= MAX_FIRES_PER_TICK ? nextFire(schedule, last) : nextFire(schedule, Math.max(now, last));
      moves.push({ jobId: d.jobId, expectedNext: d.nextFireAt, last, next });
    }
    if (cancel.length > 0) await cancelRuns(this.ctx, cancel, 'replaced by a newer fire (overlap policy "replace")');
    await enqueueRuns(this.ctx, requests);
    // After the skipped runs exist: a mark whose fire has a run is no longer live anyway.
    await clearSkipNext(this.ctx.db, usedMarks);
    await advanceSchedules(this.ctx.db, moves);
  }
}
