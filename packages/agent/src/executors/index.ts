// The executors an agent offers, by type.
import type { ExecutorType } from '@drover/shared';
import { execExecutor } from './exec.js';
import type { Executor } from './executor.js';
import { httpExecutor } from './http.js';
import { noopExecutor } from './noop.js';
import type { ProcessExecutorOptions } from './process.js';
import { shellExecutor } from './shell.js';

export type { AttemptIO, AttemptResult, Executor, RunningAttempt, StopReason } from './executor.js';
export { execExecutor, httpExecutor, noopExecutor, shellExecutor };

export type ExecutorRegistry = ReadonlyMap<ExecutorType, Executor>;

export interface ExecutorSelection extends ProcessExecutorOptions {
  allowShell: boolean;
  allowHttp: boolean;
}

/** The executors this agent runs: exec and noop always, shell and http when allowed. */
export function createExecutors(selection: ExecutorSelection): ExecutorRegistry {
  const all: Executor[] = [execExecutor(selection), noopExecutor() as Executor];
  if (selection.allowHttp) all.push(httpExecutor() as Executor);
  if (selection.allowShell) all.push(shellExecutor(selection) as Executor);
  return new Map(all.map((e) => [e.type, e]));
}
