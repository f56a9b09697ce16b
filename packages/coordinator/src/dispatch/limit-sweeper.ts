// On the leader: records expectedRunTime violations and expires runs that waited past their
// maxQueueTime (see store/run-limits.ts). It sleeps until the next limit due among the runs it
// knows of, and at most a second, so a run that started meanwhile is seen within a second.
// The agent enforces `timeout` itself, to the millisecond.
import { failureLogOf, inBackground, injectFault } from '@drover/shared';
import type { CoordinatorContext } from '../context.js';
import { expireQueuedRuns, markViolations, nextLimitDue } from '../store/run-limits.js';
import { unqueueCommitted } from '../ops/queue-committed.js';

const SWEEP_MS = 1000;
const MIN_SLEEP_MS = 20;

export class LimitSweeper {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly ctx: CoordinatorContext) {}

  start(): void {
    this.timer = setTimeout(() => inBackground('limit sweep', failureLogOf(this.ctx.log), () => this.sweep()), SWEEP_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async sweep(): Promise<void> {
    let sleep = SWEEP_MS;
    try {
      injectFault('limit sweep');
      const at = this.ctx.now();
      const violations = await markViolations(this.ctx.db, at);
      if (violations.runs.length > 0) this.ctx.log.warn({ runs: violations.runs }, 'runs are past their expected run time');
      const expired = await expireQueuedRuns(this.ctx.db, at);
      const byJob = new Map<string, string[]>();
      for (const r of expired.runs) byJob.set(r.jobId, [...(byJob.get(r.jobId) ?? []), r.runId]);
      await unqueueCommitted(this.ctx.queue, this.ctx.log, byJob);
      this.ctx.metrics.runsEnded(expired.runs.map(() => 'expired'));
      if (expired.runs.length > 0) this.ctx.log.warn({ runs: expired.runs.map((r) => r.runId) }, 'runs waited past their maxQueueTime');
      if (violations.actions + expired.actions > 0) this.ctx.actions.poke();
      const due = await nextLimitDue(this.ctx.db);
      if (due !== null) sleep = Math.min(SWEEP_MS, Math.max(MIN_SLEEP_MS, due - this.ctx.now() + 5));
      failureLogOf(this.ctx.log).succeeded('limit sweep');
    } catch (err) {
      failureLogOf(this.ctx.log).failed('limit sweep', err);
    }
    if (!this.stopped) this.timer = setTimeout(() => inBackground('limit sweep', failureLogOf(this.ctx.log), () => this.sweep()), sleep);
  }
}
