// The `drover` command.
import { Command } from 'commander';
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

// The process commands load the coordinator and the agent: about 0.8 s of module loading that
// a client verb (`drover jobs ls`) never uses, so they are imported only when they may be run.
const CLIENT_VERBS = new Set(['jobs', 'runs', 'logs', 'agents', 'fleet', 'whoami', 'cluster']);
const verb = process.argv.slice(2).find((a) => !a.startsWith('-'));
if (verb === undefined || !CLIENT_VERBS.has(verb)) {
  const [dev, coordinator, agent, migrate, docs] = await Promise.all([
    import('./commands/dev.js'),
    import('./commands/coordinator.js'),
    import('./commands/agent.js'),
    import('./commands/migrate.js'),
    import('./commands/docs.js'),
  ]);
  dev.registerDevCommand(program);
  coordinator.registerCoordinatorCommand(program);
  agent.registerAgentCommand(program);
  migrate.registerMigrateCommand(program);
  docs.registerDocsCommand(program);
}
registerClientCommands(program);

await program.parseAsync(process.argv);
