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

type MoleculerLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * A logger for Moleculer's lines. Moleculer logs `("NATS error.", reason)`, and pino drops
 * arguments it has no placeholder for: joined here, so the reason (e.g. "Authorization
 * Violation") reaches the log.
 */
export function moleculerLogger(log: Logger): Record<MoleculerLevel, (...args: unknown[]) => void> {
  const text = (a: unknown) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a));
  const method =
    (level: MoleculerLevel) =>
    (...args: unknown[]) => {
      if (args.length > 1 && typeof args[0] === 'string') log[level](args.map(text).join(' '));
      else (log[level] as (...a: unknown[]) => void)(...args);
    };
  return {
    fatal: method('fatal'),
    error: method('error'),
    warn: method('warn'),
    info: method('info'),
    debug: method('debug'),
    trace: method('trace'),
  };
}
