// The exec executor: runs argv directly (the first element is the program), never through a shell.
import type { ExecutorSpec } from '@drover/shared';
import { renderedSpec, type Executor } from './executor.js';
import { attemptPlace, offerProcessOptions, startProcess, type ProcessExecutorOptions } from './process.js';

type ExecSpec = Extract<ExecutorSpec, { type: 'exec' }>;

/** Creates the exec executor. */
export function execExecutor(options: ProcessExecutorOptions = {}): Executor<ExecSpec> {
  return {
    type: 'exec',
    start(offer, io) {
      const spec = renderedSpec(offer);
      const [program = '', ...args] = spec.command;
      return startProcess(
        program,
        args,
        attemptPlace(offer, spec, options),
        io,
        offerProcessOptions(offer, options),
        options.watchGroups?.(offer),
      );
    },
  };
}
