// Process logs: pino JSON lines on stdout (one object per event, machine-readable).
import { pino, type Logger } from 'pino';

/** A logger at the given level, tagged with the process role. */
export function createLogger(role: string, level: string): Logger {
  return pino({ level, base: { role, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
