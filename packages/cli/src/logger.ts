// Process logs: pino, one JSON object per line on stdout by default (for log shippers and
// the tests, which parse them); `pretty` prints aligned, coloured lines for a person at a
// terminal, as `drover dev` does when its stdout is one.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** `auto` is pretty when stdout is a terminal and JSON otherwise (a pipe, a file, a test). */
export function resolveLogFormat(format: LogFormat, stdoutIsTTY = process.stdout.isTTY === true): 'json' | 'pretty' {
  return format === 'auto' ? (stdoutIsTTY ? 'pretty' : 'json') : format;
}

/** A logger at the given level, tagged with the process role; JSON unless `format` says otherwise. */
export function createLogger(role: string, level: string, format: LogFormat = 'json'): Logger {
  const options = { level, base: { role, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (resolveLogFormat(format) === 'json') return pino(options);
  // In this thread, synchronously: a worker-thread transport could drop the last lines at exit.
  const stream = pretty({
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,role',
    messageFormat: `[${role}] {msg}`,
  });
  return pino(options, stream);
}
