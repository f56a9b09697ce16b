// `drover agent`: a worker that registers with the coordinators on the bus and executes the
// runs they offer. Settings come from flags, then DROVER_* env, then --config.
import type { Command } from 'commander';
import { agentSettings, compileAgentOptions, startAgent, type AgentHandle } from '@drover/agent';
import { failureLogOf, keepRunningOnStrayErrors } from '@drover/shared';
import { createLogger } from '../logger.js';
import { addSettingFlags, fail, flagsFrom } from './common.js';

/**
 * The first SIGINT/SIGTERM stops the agent gracefully (running attempts may finish); a second
 * one ends the attempts' process trees now and still reports them. The agent never exits
 * abruptly, since its attempts run in their own process groups and would outlive it.
 */
function stopOnSignals(handle: AgentHandle, log: ReturnType<typeof createLogger>): void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    log.info(
      { signal },
      signals === 1 ? 'stopping: waiting for running attempts (send the signal again to end them now)' : 'ending running attempts now',
    );
    void handle.stop(signals === 1 ? {} : { graceMs: 0 });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Adds `drover agent` to the program. */
export function registerAgentCommand(program: Command): void {
  const cmd = program.command('agent').description('run an agent: register with the coordinators on NATS and execute the runs they offer');
  addSettingFlags(cmd, agentSettings)
    .option('--no-allow-http', 'refuse jobs with the http executor, whatever DROVER_ALLOW_HTTP says')
    .option('--no-allow-shell', 'refuse jobs with the shell executor, whatever DROVER_ALLOW_SHELL says')
    .action(async (opts: Record<string, unknown>) => {
      let handle: AgentHandle;
      let log: ReturnType<typeof createLogger>;
      try {
        const options = compileAgentOptions({
          flags: flagsFrom(opts),
          env: process.env,
          file: typeof opts.config === 'string' ? opts.config : undefined,
        });
        log = createLogger('agent', options.logLevel, options.logFormat);
        keepRunningOnStrayErrors(failureLogOf(log));
        handle = await startAgent(options, log);
      } catch (err) {
        fail(err);
      }
      stopOnSignals(handle, log);
      try {
        await handle.done;
        process.exit(0);
      } catch {
        // A coordinator refused this agent; the agent logged its reason.
        process.exit(1);
      }
    });
}
