// The executor seam: one implementation per executor type of a job definition.
import { renderExecutor, type AttemptOutcome, type ExecutorSpec, type ExecutorType, type RunOffer } from '@drover/shared';

/** Where an attempt's output and start go; called by the executor, never after the result settles. */
export interface AttemptIO {
  /** Called once, when the attempt is really under way (for a process: the moment it was spawned). */
  started(at: number): void;
  output(stream: 'stdout' | 'stderr', data: Buffer | string): void;
  /**
   * Backpressure: undefined while output may flow, or a promise that settles when there is
   * room again (the agent holds too much unreported output). An executor that can pause its
   * source should, until then; the others may ignore it.
   */
  roomForOutput?(): Promise<void> | undefined;
}

/** Why an attempt is being stopped early, and the outcome to report for it. */
export interface StopReason {
  outcome: Extract<AttemptOutcome, 'cancelled' | 'timed_out' | 'failed' | 'lost'>;
  message: string;
}

/** How an attempt ended, as the executor saw it; the supervisor adds the timing. */
export interface AttemptResult {
  outcome: AttemptOutcome;
  exitCode: number | null;
  signal: string | null;
  /** Why the attempt did not succeed, in words an operator can act on; null on success. */
  error: string | null;
  cpuTimeMs: number | null;
  peakMemoryBytes: number | null;
  /** The response status of an http attempt; null for other executors or when no response arrived. */
  httpStatus: number | null;
}

/** An attempt in progress. */
export interface RunningAttempt {
  /** Settles once the attempt is over and nothing of it is left running; never rejects. */
  readonly result: Promise<AttemptResult>;
  /** Ends the attempt early; the first reason wins. Safe to call at any time, more than once. */
  stop(reason: StopReason): void;
}

/**
 * Keeps an attempt's process group from outliving the agent (the reaper and the attempt
 * records). `spawned` is called in the same turn as the spawn, and `ended` before the attempt's
 * result settles; both are synchronous.
 */
export interface GroupWatch {
  /** The attempt's process group exists: its leader was just spawned. */
  spawned(pgid: number): void;
  /** Nothing of the group runs any more (or it was SIGKILLed and is reported anyway). */
  ended(pgid: number): void;
}

/** Runs attempts of one executor type. */
export interface Executor<S extends ExecutorSpec = ExecutorSpec> {
  readonly type: ExecutorType;
  /** Starts an attempt of `offer` (whose `executor` is of this type) and returns at once. */
  start(offer: RunOffer & { executor: S }, io: AttemptIO): RunningAttempt;
}

/** A result for an attempt that ended without running anything of its own. */
export function failedResult(error: string, outcome: AttemptOutcome = 'failed'): AttemptResult {
  return { outcome, exitCode: null, signal: null, error, cpuTimeMs: null, peakMemoryBytes: null, httpStatus: null };
}

/** The offer's executor spec with its `{{ … }}` placeholders filled in for this attempt. */
export function renderedSpec<S extends ExecutorSpec>(offer: RunOffer & { executor: S }): S {
  const { parameters, runId, jobId, jobName, attempt } = offer;
  return renderExecutor(offer.executor, { parameters: parameters ?? {}, runId, jobId, jobName, attempt }) as S;
}
