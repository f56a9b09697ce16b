// Agent events as tests write them: a finished event with every field the protocol requires,
// defaults for the ones a test does not care about.
import type { FinishedEvent } from '@drover/shared';

/** A `finished` event for `runId`'s attempt `token`; exit code 0 for a success, 1 otherwise, unless given. */
export function finishedEvent(
  runId: string,
  token: number,
  over: Partial<Omit<FinishedEvent, 'kind' | 'runId' | 'token'>> = {},
): FinishedEvent {
  const outcome = over.outcome ?? 'succeeded';
  return {
    kind: 'finished',
    runId,
    token,
    at: Date.now(),
    outcome,
    exitCode: outcome === 'succeeded' ? 0 : outcome === 'failed' ? 1 : null,
    signal: null,
    error: null,
    durationMs: 1,
    cpuTimeMs: null,
    peakMemoryBytes: null,
    httpStatus: null,
    outputBytes: 0,
    droppedBytes: 0,
    lastLines: [],
    ...over,
  };
}
