// The shell executor: a script run by /bin/sh -c. Agents offer it only with --allow-shell,
// since a script can do anything the agent's user can.
import type { ExecutorSpec } from '@drover/shared';
import type { Executor } from './executor.js';
import { attemptEnv, startProcess, type ProcessExecutorOptions } from './process.js';

type ShellSpec = Extract<ExecutorSpec, { type: 'shell' }>;

/** Creates the shell executor. */
export function shellExecutor(options: ProcessExecutorOptions = {}): Executor<ShellSpec> {
  return {
    type: 'shell',
    start(offer, io) {
      return startProcess(
        '/bin/sh',
        ['-c', offer.executor.script],
        { env: attemptEnv(offer, offer.executor.env), cwd: offer.executor.cwd },
        io,
        options,
      );
    },
  };
}
