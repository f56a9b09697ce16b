// `drover logs <run> [-f] [--raw]`: a run's output, read page by page or followed until the run
// ends. At a terminal its control characters are escaped (output/escape.ts) and bytes that are
// not UTF-8 shown as \xHH, unless --raw; a pipe gets the bytes as printed.
import type { Command } from 'commander';
import { byteEscape, chunkBytes, followRunLogs, ok, utf8Pieces, type LogChunk } from '@drover/client';
import { addClientOptions, clientAction, ExitCode, UsageError, type ClientContext } from './context.js';
import { escapeControls, forStream } from '../../output/escape.js';
import { reportWaiting } from './waiting.js';

/** Where a chunk goes: stderr output to stderr. */
export interface OutputStreams {
  stdout: { isTTY?: boolean; write(data: string | Uint8Array): unknown };
  stderr: { isTTY?: boolean; write(data: string | Uint8Array): unknown };
}

/** How to write a run's output: the streams, and --raw (the bytes as stored, even at a terminal). */
export interface ChunkWriter {
  streams?: OutputStreams;
  raw?: boolean;
}

/** Writes a chunk where it came from, escaped at a terminal unless raw; or as one JSON line, unchanged. */
export function writeChunk(ctx: Pick<ClientContext, 'output'>, chunk: LogChunk, how: ChunkWriter = {}): void {
  const { stdout, stderr } = how.streams ?? process;
  if (ctx.output === 'json') return void stdout.write(`${JSON.stringify(chunk)}\n`);
  const stream = chunk.stream === 'stderr' ? stderr : stdout;
  if (chunk.encoding !== 'base64') return void stream.write(forStream(stream, chunk.data, how.raw));
  // Output that is not UTF-8: the bytes as printed, or at a terminal its text escaped and each other byte as \xHH.
  const bytes = chunkBytes(chunk);
  if (how.raw || !stream.isTTY) return void stream.write(bytes);
  stream.write(
    utf8Pieces(bytes)
      .map((p) => (typeof p === 'string' ? escapeControls(p) : byteEscape(p)))
      .join(''),
  );
}

/** Every chunk stored so far, following the pages. */
async function printStoredLogs(ctx: ClientContext, runId: string, attempt: number | undefined, how: ChunkWriter): Promise<void> {
  let cursor: string | undefined;
  for (;;) {
    const query = { limit: 1000, ...(cursor ? { cursor } : {}), ...(attempt !== undefined ? { attempt } : {}) };
    const page = ok(await ctx.client.GET('/v1/runs/{id}/logs', { params: { path: { id: runId }, query } }));
    for (const chunk of page.items) writeChunk(ctx, chunk, how);
    if (page.items.length < 1000 || !page.nextCursor) return;
    cursor = page.nextCursor;
  }
}

/**
 * Streams a run's output until it ends, then says how it ended; a run that did not succeed
 * makes the command exit 1, so `drover jobs run --follow x && next` chains like a local command.
 */
export async function followAndReport(ctx: ClientContext, runId: string, attempt?: number, how: ChunkWriter = {}): Promise<void> {
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once('SIGINT', interrupt);
  let endState: string | undefined;
  // Until the run starts its output is silent: say why it waits, on stderr beside the output.
  const started = new AbortController();
  const waiting = reportWaiting(ctx, runId, AbortSignal.any([stop.signal, started.signal]), (line) =>
    process.stderr.write(`${escapeControls(`drover: ${line}`)}\n`),
  );
  try {
    for await (const chunk of followRunLogs(ctx.client, runId, {
      signal: stop.signal,
      ...(attempt !== undefined ? { attempt } : {}),
      onEnd: (state) => (endState = state),
    })) {
      writeChunk(ctx, chunk, how);
    }
  } finally {
    process.off('SIGINT', interrupt);
    started.abort();
    await waiting;
  }
  if (stop.signal.aborted) throw new ExitCode(130);
  const run = ok(await ctx.client.GET('/v1/runs/{id}', { params: { path: { id: runId } } }));
  const state = endState ?? run.state;
  if (ctx.output === 'json') process.stdout.write(`${JSON.stringify(run)}\n`);
  if (state === 'succeeded') return;
  // The run's error already says "exited with code 3"; the bare facts are the fallback.
  const why = run.error ?? (run.signal ? `signal ${run.signal}` : run.exitCode !== null ? `exit code ${run.exitCode}` : '');
  throw new ExitCode(1, `run ${runId} ended ${state}${why ? `: ${why}` : ''}`);
}

export function registerLogsCommand(program: Command): void {
  addClientOptions(
    program
      .command('logs')
      .description("print a run's output; -f follows it until the run ends (exit code 1 unless it succeeded)")
      .argument('<run>', 'run id')
      .option('-f, --follow', 'keep printing output as it arrives, until the run ends')
      .option('--attempt <n>', "only this attempt's output")
      .option('--raw', 'write the output as printed (escape sequences, \\r, bytes that are not UTF-8), even to a terminal'),
  ).action(
    clientAction(async (ctx, runId: string, flags: { follow?: boolean; attempt?: string; raw?: boolean }) => {
      const attempt = flags.attempt === undefined ? undefined : Number(flags.attempt);
      if (attempt !== undefined && !(Number.isInteger(attempt) && attempt >= 1))
        throw new UsageError(`--attempt "${flags.attempt}" is not an attempt number (1, 2, …)`);
      const how = { raw: flags.raw === true };
      if (flags.follow) await followAndReport(ctx, runId, attempt, how);
      else await printStoredLogs(ctx, runId, attempt, how);
    }),
  );
}
