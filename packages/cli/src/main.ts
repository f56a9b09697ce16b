// The `drover` command.
import { Command } from 'commander';
import { registerCoordinatorCommand } from './commands/coordinator.js';
import { registerAgentCommand } from './commands/agent.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerDocsCommand } from './commands/docs.js';
import { registerDevCommand } from './commands/dev.js';
import { registerClientCommands } from './commands/client/index.js';

// Test harnesses set DROVER_EXIT_WITH_PARENT so that a drover process never outlives the test
// that started it, even when that test's worker is killed before it can clean up.
if (process.env.DROVER_EXIT_WITH_PARENT === '1') {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  }, 1000).unref();
}

const program = new Command('drover')
  .description(
    'Drover: a distributed job scheduler. Run a coordinator, agents, and manage the database; define and run jobs, watch runs and the fleet.',
  )
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

registerDevCommand(program);
registerCoordinatorCommand(program);
registerAgentCommand(program);
registerMigrateCommand(program);
registerDocsCommand(program);
registerClientCommands(program);

await program.parseAsync(process.argv);
