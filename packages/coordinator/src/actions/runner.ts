// The action runner: on every coordinator, it claims due action runs (a lease in PostgreSQL,
// so coordinators share the work and a dead one's claims are retried once their lease is
// over), runs them concurrently and outside any transaction, and records each outcome. It
// wakes every `pollMs` and whenever the code that recorded new actions pokes it.
import { failureLogOf, type ActionType } from '@drover/shared';
import type { CoordinatorContext } from '../context.js';
import { claimDueActions, recordActionTry, type ClaimedAction } from '../store/action-runs.js';
import { settleTry, type RetryPolicy } from './backoff.js';
import type { ActionExecutor, ActionOutcome } from './executor.js';
import { runSkipNext } from './skip-next.js';
import { runTriggerJob } from './trigger-job.js';
import { runWebhook } from './webhook.js';
import { PassLoop } from '../background/pass-loop.js';

export interface ActionRunnerOptions extends RetryPolicy {
  /** How often to look for due actions when nobody pokes. */
  pollMs: number;
  /** Most actions claimed by one statement. */
  batch: number;
  /** Most actions running at once on this coordinator. */
  concurrency: number;
  /** How long a claim holds; longer than any one try (the webhook timeout) takes. */
  leaseMs: number;
  webhookTimeoutMs: number;
}

export const DEFAULT_ACTION_RUNNER_OPTIONS: ActionRunnerOptions = {
  pollMs: 1000,
  batch: 50,
  concurrency: 32,
  leaseMs: 60_000,
  maxTries: 8,
  backoffBaseMs: 1000,
  backoffMaxMs: 300_000,
  webhookTimeoutMs: 10_000,
};

const EXECUTORS: Record<ActionType, ActionExecutor> = {
  webhook: runWebhook,
  trigger_job: runTriggerJob,
  skip_next: runSkipNext,
};

export class ActionRunner {
  readonly options: ActionRunnerOptions;
  private ctx: CoordinatorContext | undefined;
  /** Claims run one at a time, then sleep `pollMs`; a failed claim is tried again at the next poll. */
  private loop: PassLoop | undefined;
  /** The last claim took all it asked for: more may be due as soon as a slot frees up. */
  private backlog = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(options: Partial<ActionRunnerOptions> = {}) {
    this.options = { ...DEFAULT_ACTION_RUNNER_OPTIONS, ...options };
  }

  /** Starts polling; the context is passed here because the context itself holds the runner. */
  start(ctx: CoordinatorContext): void {
    this.ctx = ctx;
    this.loop = new PassLoop({
      name: 'claiming due actions',
      failures: failureLogOf(ctx.log),
      retryMs: this.options.pollMs,
      pass: () => this.claim(),
    });
    this.poke();
  }

  /** Looks for due actions now (new ones were just recorded). */
  poke(): void {
    if (this.stopping.signal.aborted) return;
    this.loop?.kick();
  }

  /** Stops claiming, cuts tries in flight short (they are given back) and waits for them to be recorded. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop?.stop();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Claims due actions while slots are free and claims come back full; returns the wait until the next poll. */
  private async claim(): Promise<number> {
    const ctx = this.ctx as CoordinatorContext;
    while (!this.stopping.signal.aborted) {
      const room = this.options.concurrency - this.inFlight.size;
      this.backlog = room <= 0;
      if (room <= 0) break;
      const want = Math.min(this.options.batch, room);
      const claimed = await claimDueActions(ctx.db, ctx.now(), want, this.options.leaseMs);
      for (const action of claimed) this.launch(action);
      if (claimed.length < want) break;
      this.backlog = true;
    }
    return this.options.pollMs;
  }

  private launch(action: ClaimedAction): void {
    // runOne records its own failures; anything else it throws is logged here, never unhandled.
    const ctx = this.ctx as CoordinatorContext;
    const done: Promise<void> = this.runOne(action)
      .catch((err: unknown) => failureLogOf(ctx.log).failed('action try', err, { actionRunId: action.id }))
      .finally(() => {
        this.inFlight.delete(done);
        if (this.backlog) this.poke();
      });
    this.inFlight.add(done);
  }

  private async runOne(action: ClaimedAction): Promise<void> {
    const ctx = this.ctx as CoordinatorContext;
    const executor = EXECUTORS[action.spec.type as ActionType] as ActionExecutor | undefined;
    let outcome: ActionOutcome;
    try {
      outcome = executor
        ? await executor(action, { ctx, signal: this.stopping.signal, webhookTimeoutMs: this.options.webhookTimeoutMs })
        : { ok: false, permanent: true, error: `unknown action type ${JSON.stringify(action.spec.type)}` };
    } catch (err) {
      outcome = { ok: false, error: (err as Error).message };
    }
    const interrupted = !outcome.ok && this.stopping.signal.aborted;
    const record = settleTry(outcome, action.tries, ctx.now(), this.options, interrupted);
    const log = {
      actionRunId: action.id,
      runId: action.runId,
      attempt: action.attempt,
      type: action.spec.type,
      trigger: action.trigger,
      tries: action.tries,
    };
    try {
      const recorded = await recordActionTry(ctx.db, action, record, ctx.now());
      if (!recorded) ctx.log.warn(log, 'an action outlived its lease and was claimed again; this try was not recorded');
      else if (record.state === 'failed') ctx.log.warn({ ...log, error: record.error }, 'action failed');
      else if (record.state === 'pending' && !interrupted)
        ctx.log.info({ ...log, error: record.error, retryAt: new Date(record.nextAt).toISOString() }, 'action will be tried again');
    } catch (err) {
      // The lease runs out and another try follows: the action is never dropped.
      ctx.log.error({ ...log, err }, 'could not record the outcome of an action; it will be tried again after its lease');
    }
  }
}
