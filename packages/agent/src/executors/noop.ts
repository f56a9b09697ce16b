// The noop executor: succeeds without running anything, optionally after a sleep. For tests,
// benchmarks and placeholders in DAGs.
import { parseDuration, type ExecutorSpec } from '@drover/shared';
import type { AttemptResult, Executor } from './executor.js';

type NoopSpec = Extract<ExecutorSpec, { type: 'noop' }>;

/** Creates the noop executor. */
export function noopExecutor(): Executor<NoopSpec> {
  return {
    type: 'noop',
    start(offer, io) {
      const sleepMs = offer.executor.sleep === undefined ? 0 : (parseDuration(offer.executor.sleep) ?? 0);
      let finish: (r: AttemptResult) => void = () => undefined;
      const result = new Promise<AttemptResult>((resolve) => {
        finish = resolve;
      });
      const base = { exitCode: null, signal: null, cpuTimeMs: null, peakMemoryBytes: null, httpStatus: null };
      io.started(Date.now());
      const timer = setTimeout(() => finish({ ...base, outcome: 'succeeded', error: null }), sleepMs);
      return {
        result,
        stop(reason) {
          clearTimeout(timer);
          finish({ ...base, outcome: reason.outcome, error: reason.message });
        },
      };
    },
  };
}
