// What every action type implements: one try of one claimed action, and how it ended. The
// runner decides from the outcome whether the action is done, retried or failed.
import type { CoordinatorContext } from '../context.js';
import type { ClaimedAction } from '../store/action-runs.js';

/** How one try ended. `permanent` failures (an unknown job, a job without a schedule) are not retried. */
export type ActionOutcome =
  { ok: true; status?: number; result?: unknown } | { ok: false; error: string; status?: number; permanent?: boolean };

export interface ActionEnv {
  ctx: CoordinatorContext;
  /** Aborted when the coordinator stops: a try cut short is given back, not counted. */
  signal: AbortSignal;
  webhookTimeoutMs: number;
}

export type ActionExecutor = (action: ClaimedAction, env: ActionEnv) => Promise<ActionOutcome>;
