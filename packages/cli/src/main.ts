// The `drover` command.
import { CLIENT_VERBS, droverProgram } from './program.js';

// Test harnesses set DROVER_EXIT_WITH_PARENT so that a drover process never outlives the test
// that started it, even when that test's worker is killed before it can clean up.
if (process.env.DROVER_EXIT_WITH_PARENT === '1') {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  }, 1000).unref();
}

// A client verb (`drover jobs ls`) is served without loading the coordinator and the agent.
const verb = process.argv.slice(2).find((a) => !a.startsWith('-'));
const program = await droverProgram({ processCommands: verb === undefined || !CLIENT_VERBS.has(verb) });
await program.parseAsync(process.argv);
