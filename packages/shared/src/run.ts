// Run lifecycle (see DESIGN.md): pending → queued → offered → running → terminal.

export const RUN_STATES = [
  'pending',
  'queued',
  'offered',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'lost',
  'expired',
  'skipped',
] as const;
export type RunState = (typeof RUN_STATES)[number];

export const TERMINAL_RUN_STATES: readonly RunState[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'expired', 'skipped'];
/** States of a run that is not over: waiting, on an agent, or waiting for its next attempt. */
export const LIVE_RUN_STATES: readonly RunState[] = ['pending', 'queued', 'offered', 'running', 'retrying'];

/** Whether a run in this state will never change again. */
export function isTerminal(state: RunState): boolean {
  return TERMINAL_RUN_STATES.includes(state);
}

/** How a run came to exist. */
export type RunTrigger = 'manual' | 'batch' | 'schedule' | 'retry' | 'action';

/**
 * Outcomes an agent may report for an attempt it ran. `lost`: the agent gave the attempt up
 * (it shut down before the attempt finished), which the retry policy treats like an agent that
 * vanished — the job did not fail.
 */
export const ATTEMPT_OUTCOMES = ['succeeded', 'failed', 'timed_out', 'cancelled', 'lost'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];
