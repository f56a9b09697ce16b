// Process logs: pino, one JSON object per line on stdout when it is not a terminal (for log
// shippers and the tests, which parse them); at a terminal, aligned, coloured lines for a
// person. `--log-format` (DROVER_LOG_FORMAT) chooses either way.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat } from '@drover/shared';

/** `auto` is pretty when stdout is a terminal and JSON otherwise (a pipe, a file, a test). */
export function resolveLogFormat(format: LogFormat, stdoutIsTTY = process.stdout.isTTY === true): 'json' | 'pretty' {
  return format === 'auto' ? (stdoutIsTTY ? 'pretty' : 'json') : format;
}

/** A logger at the given level, tagged with the process role, in the given format. */
export function createLogger(role: string, level: string, format: LogFormat): Logger {
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
