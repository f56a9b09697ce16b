// Factories for agent tests: valid offers, and an attempt run to completion through an executor.
import type { ExecutorSpec, RunOffer } from '@drover/shared';
import { ulid } from 'ulid';
import type { AttemptResult, Executor } from '../src/executors/executor.js';

/** A valid offer of a noop job; override any field. */
export function makeOffer<E extends RunOffer['executor'] = RunOffer['executor']>(
  overrides: Partial<RunOffer> & { executor?: E } = {},
): RunOffer & { executor: E } {
  return {
    runId: ulid(),
    jobId: ulid(),
    jobName: 'test-job',
    token: 1,
    attempt: 1,
    executor: { type: 'noop' },
    resources: { cpu: 0, memoryBytes: 0 },
    timeoutMs: null,
    parameters: {},
    ...overrides,
  } as RunOffer & { executor: E };
}

export interface CompletedAttempt {
  result: AttemptResult;
  stdout: string;
  stderr: string;
  startedAt: number | undefined;
}

/** Runs one attempt of `spec` through `executor` and collects its output. */
export async function runToEnd(executor: Executor, spec: ExecutorSpec, overrides: Partial<RunOffer> = {}): Promise<CompletedAttempt> {
  const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  let startedAt: number | undefined;
  const running = executor.start(makeOffer({ ...overrides, executor: spec }), {
    started: (at) => {
      startedAt = at;
    },
    output: (stream, data) => out[stream].push(Buffer.from(data)),
  });
  const result = await running.result;
  return { result, stdout: Buffer.concat(out.stdout).toString(), stderr: Buffer.concat(out.stderr).toString(), startedAt };
}

/** Whether a process is gone (or a zombie nobody reaped, which runs nothing any more). */
export async function processGone(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

/** Polls `check` until it holds; throws after `timeoutMs` (a safety net, not a timing assertion). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
