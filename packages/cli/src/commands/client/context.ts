// What every client verb shares: the --addr/--output options, one @drover/client per call,
// and errors printed so a person can act on them.
import { Option, type Command } from 'commander';
import { createDroverClient, DroverApiError, DroverConnectionError, type DroverClient } from '@drover/client';
import { escapeControls, forStream } from '../../output/escape.js';

export const DEFAULT_ADDR = 'http://127.0.0.1:7400';

export type OutputFormat = 'table' | 'json';

/** What a verb's action gets: a client of the chosen coordinator and how to print. */
export interface ClientContext {
  readonly client: DroverClient;
  readonly addr: string;
  readonly output: OutputFormat;
  /** The terminal's width in columns, for tables that wrap; absent when stdout is not a terminal. */
  readonly width?: number;
  /** The clock, for relative times. */
  readonly now: () => number;
  /** Writes to stdout; at a terminal, control characters are escaped (output/escape.ts). */
  print(text: string): void;
  /** Prints a value as JSON (the API's objects, verbatim). */
  printJson(value: unknown): void;
}

/** A mistake in the command line itself (exit code 2, like commander's own). */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'USAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A verb that ran but must exit non-zero, its message already printed or given here. */
export class ExitCode extends Error {
  override name = 'ExitCode';
  readonly code = 'EXIT';
  constructor(
    readonly exitCode: number,
    message = '',
  ) {
    super(message);
  }
}

/** Adds --addr and --output to a command; its subcommands see them too (before or after their name). */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--addr <url>', `the coordinator's API [env DROVER_ADDR, default ${DEFAULT_ADDR}]`))
    .addOption(
      new Option('-o, --output <format>', 'table for people, json for programs (the API objects as returned)').choices(['table', 'json']),
    );
}

/** The coordinator's address: --addr, then DROVER_ADDR, then the default; a bare host:port gets http://. */
export function resolveAddr(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw = (flag ?? env.DROVER_ADDR ?? '').trim() || DEFAULT_ADDR;
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`unsupported protocol ${parsed.protocol}`);
  } catch (err) {
    throw new UsageError(`"${raw}" is not a coordinator address; use e.g. --addr http://127.0.0.1:7400 or DROVER_ADDR`, { cause: err });
  }
  return url.replace(/\/+$/, '');
}

function contextOf(cmd: Command): ClientContext {
  const opts = cmd.optsWithGlobals() as { addr?: string; output?: OutputFormat };
  const addr = resolveAddr(opts.addr, process.env);
  const token = process.env.DROVER_TOKEN?.trim();
  return {
    client: createDroverClient({ baseUrl: addr, ...(token ? { token } : {}) }),
    addr,
    output: opts.output ?? 'table',
    ...(process.stdout.isTTY && process.stdout.columns > 0 ? { width: process.stdout.columns } : {}),
    now: Date.now,
    print: (text) => process.stdout.write(forStream(process.stdout, text)),
    printJson: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}

// The API's hints name REST calls; on the command line the matching verb is the useful hint.
const CLI_HINTS: Array<[RegExp, string]> = [
  [/GET \/v1\/jobs\b(?!\/)/g, 'drover jobs ls'],
  [/GET \/v1\/runs\b(?!\/)/g, 'drover runs ls'],
  [/GET \/v1\/agents\b(?!\/)/g, 'drover agents ls'],
  [/POST \/v1\/runs\/([^/\s]+)\/retry/g, 'drover runs retry $1'],
  [/POST \/v1\/runs\/([^/\s]+)\/cancel/g, 'drover runs cancel $1'],
  [/PATCH \/v1\/jobs\/\{id\}/g, 'drover jobs apply'],
];

/** The API's text with REST hints replaced by the drover verbs that do the same. */
export function withCliHints(text: string): string {
  return CLI_HINTS.reduce((t, [re, verb]) => t.replace(re, verb), text);
}

/** What went wrong, without the "drover:" prefix: the problem's detail and each offending field, or the connection failure. */
export function explain(err: unknown): string {
  if (err instanceof DroverApiError) {
    // The detail of a 400 already joins the fields; one per line reads better when there are several.
    if (err.errors.length > 1)
      return [`${err.title} (${err.status}):`, ...err.errors.map((e) => `  ${e.field || '(body)'}: ${withCliHints(e.message)}`)].join('\n');
    return `${withCliHints(err.detail || err.title)} (${err.status} ${err.title})`;
  }
  if (err instanceof DroverConnectionError) return err.message.replace('set DROVER_ADDR', 'set DROVER_ADDR or --addr');
  return (err as Error)?.message ?? String(err);
}

/** How an error reads on stderr. */
export const describeError = (err: unknown): string => `drover: ${explain(err)}`;

/** Exit status for an error: 2 for a bad command line, 1 otherwise. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof ExitCode) return err.exitCode;
  return err instanceof UsageError ? 2 : 1;
}

/**
 * Wraps a verb's action: builds its context from the command's (and its parents') options and
 * turns any error into a message and an exit code, never a stack trace.
 */
export function clientAction<A extends unknown[]>(fn: (ctx: ClientContext, ...args: A) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    // `drover logs -f x | head` closes the pipe early: that is the reader being done, not a crash.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
    let addr: string | undefined;
    try {
      const ctx = contextOf(cmd);
      addr = ctx.addr;
      await fn(ctx, ...(args.slice(0, -1) as A));
    } catch (caught) {
      // A body that is not JSON means something other than a coordinator answered (a web server, a proxy).
      const err =
        caught instanceof SyntaxError && addr
          ? new Error(`${addr} answered with something that is not JSON: is it a Drover coordinator's API? (${caught.message})`, {
              cause: caught,
            })
          : caught;
      if (!(err instanceof ExitCode) || err.message)
        // Messages quote names and errors that agents and jobs chose: never raw control characters.
        process.stderr.write(`${escapeControls(err instanceof ExitCode ? `drover: ${err.message}` : describeError(err))}\n`);
      process.exitCode = exitCodeOf(err);
    }
  };
}
