// The agent's log: JSON lines on stdout (one object per line), for people and for log shippers.
import { pino, type Logger } from 'pino';
import type { LogLevel } from './options.js';

/** Creates the agent's pino logger at the given level. */
export function createAgentLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** Moleculer's own level: its info lines (services starting, nodes joining) only at debug. */
export function moleculerLevel(level: LogLevel): 'fatal' | 'warn' | 'debug' | 'trace' {
  if (level === 'trace') return 'trace';
  if (level === 'debug') return 'debug';
  if (level === 'silent' || level === 'fatal' || level === 'error') return 'fatal';
  return 'warn';
}
