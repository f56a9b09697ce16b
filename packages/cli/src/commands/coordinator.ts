// `drover coordinator`: the scheduler, dispatcher and REST API.
import type { Command } from 'commander';
import { compileCoordinatorOptions, coordinatorSettings, startCoordinator } from '@drover/coordinator';
import { failureLogOf, keepRunningOnStrayErrors } from '@drover/shared';
import { createLogger } from '../logger.js';
import { addSettingFlags, fail, onShutdown } from './common.js';

export function registerCoordinatorCommand(program: Command): void {
  const cmd = program
    .command('coordinator')
    .description('run a coordinator: state in PostgreSQL, queue in Redis, agents over NATS, REST API');
  addSettingFlags(cmd, coordinatorSettings).action(async (flags: Record<string, string | boolean | undefined>) => {
    try {
      const opts = compileCoordinatorOptions({ flags, env: process.env, file: flags.config as string | undefined });
      const log = createLogger('coordinator', opts.logLevel, opts.logFormat);
      keepRunningOnStrayErrors(failureLogOf(log));
      const handle = await startCoordinator(opts, log);
      onShutdown(async () => {
        log.info('stopping');
        await handle.stop();
      });
    } catch (err) {
      fail(err);
    }
  });
}
