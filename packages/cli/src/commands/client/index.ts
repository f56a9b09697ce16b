// The client verbs of `drover`: they talk to a coordinator's REST API through @drover/client.
import type { Command } from 'commander';
import { registerJobCommands } from './jobs.js';
import { registerRunCommands } from './runs.js';
import { registerLogsCommand } from './logs.js';
import { registerAgentCommands } from './agents.js';
import { registerFleetCommand } from './fleet.js';
import { registerTokenCommands } from './tokens.js';
import { registerSecretCommands } from './secrets.js';
import { registerCompletionCommand } from './completion.js';
import { registerWhoamiCommand } from './whoami.js';
import { registerClusterCommands } from './cluster.js';

/** Registers jobs, runs, logs, agents, fleet, tokens, secrets, whoami, cluster and completion (completion last: it reads the whole tree when run). */
export function registerClientCommands(program: Command): void {
  registerJobCommands(program);
  registerRunCommands(program);
  registerLogsCommand(program);
  registerAgentCommands(program);
  registerFleetCommand(program);
  registerTokenCommands(program);
  registerSecretCommands(program);
  registerWhoamiCommand(program);
  registerClusterCommands(program);
  registerCompletionCommand(program);
}
