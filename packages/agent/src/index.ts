// @drover/agent: the worker process of Drover. See README.md.
export { startAgent, RegistrationRefusedError, type AgentHandle, type AgentExtras } from './agent.js';
export { agentSettings, compileAgentOptions, LOG_LEVELS, type AgentOptions, type LogLevel } from './options.js';
export { fingerprint, type FingerprintInput } from './fingerprint.js';
export type { AttemptHooks } from './supervisor.js';
export { createAgentLogger } from './logger.js';
export { AGENT_VERSION } from './version.js';
export { LeastPrivilegeError } from './run-as.js';
