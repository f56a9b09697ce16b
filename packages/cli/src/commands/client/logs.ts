// `drover logs <run> [-f] [--raw]`: a run's output, read page by page or followed until the run
// ends. At a terminal its control characters are escaped (output/escape.ts) unless --raw.
import type { Command } from 'commander';
import { followRunLogs, ok, type LogChunk } from '@drover/client';
import { addClientOptions, clientAction, ExitCode, UsageError, type ClientContext } from './context.js';
import { forStream } from '../../output/escape.js';

/** Where a chunk goes: stderr output to stderr. */
export interface OutputStreams {
  stdout: { isTTY?: boolean; write(text: string): unknown };
  stderr: { isTTY?: boolean; write(text: string): unknown };
}

/** How to write a run's output: the streams, and --raw (the bytes as stored, even at a terminal). */
export interface ChunkWriter {
  streams?: OutputStreams;
  raw?: boolean;
}

/** Writes a chunk where it came from, escaped at a terminal unless raw; or as one JSON line, unchanged. */
export function writeChunk(ctx: Pick<ClientContext, 'output'>, chunk: LogChunk, how: ChunkWriter = {}): void {
  const { stdout, stderr } = how.streams ?? process;
  if (ctx.output === 'json') stdout.write(`${JSON.stringify(chunk)}\n`);
  else {
    const stream = chunk.stream === 'stderr' ? stderr : stdout;
    stream.write(forStream(stream, chunk.data, how.raw));
  }
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
      .option('--raw', 'write control characters (escape sequences, \\r) as stored, even to a terminal'),
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
