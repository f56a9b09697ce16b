// The exec executor: runs argv directly (the first element is the program), never through a shell.
import type { ExecutorSpec } from '@drover/shared';
import type { Executor } from './executor.js';
import { attemptEnv, startProcess, type ProcessExecutorOptions } from './process.js';

type ExecSpec = Extract<ExecutorSpec, { type: 'exec' }>;

/** Creates the exec executor. */
export function execExecutor(options: ProcessExecutorOptions = {}): Executor<ExecSpec> {
  return {
    type: 'exec',
    start(offer, io) {
      const [program = '', ...args] = offer.executor.command;
      return startProcess(program, args, { env: attemptEnv(offer, offer.executor.env), cwd: offer.executor.cwd }, io, options);
    },
  };
}
