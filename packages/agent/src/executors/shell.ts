// The shell executor: a script run by /bin/sh -c. Agents offer it only with --allow-shell,
// since a script can do anything the agent's user can.
import type { ExecutorSpec } from '@drover/shared';
import { renderedSpec, type Executor } from './executor.js';
import { attemptPlace, offerProcessOptions, startProcess, type ProcessExecutorOptions } from './process.js';

type ShellSpec = Extract<ExecutorSpec, { type: 'shell' }>;

/** Creates the shell executor. */
export function shellExecutor(options: ProcessExecutorOptions = {}): Executor<ShellSpec> {
  return {
    type: 'shell',
    start(offer, io) {
      // Only the env is rendered: the script reads parameters from $DROVER_PARAM_<NAME> (see renderExecutor).
      const spec = renderedSpec(offer);
      return startProcess(
        '/bin/sh',
        ['-c', spec.script],
        attemptPlace(offer, spec, options),
        io,
        offerProcessOptions(offer, options),
        options.watchGroups?.(offer),
      );
    },
  };
}
