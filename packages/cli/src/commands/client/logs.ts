// `drover logs <run> [-f]`: a run's output, read page by page or followed until the run ends.
import type { Command } from 'commander';
import { followRunLogs, ok, type LogChunk } from '@drover/client';
import { addClientOptions, clientAction, ExitCode, UsageError, type ClientContext } from './context.js';

/** Writes a chunk where it came from (stderr output to stderr), or as one JSON line. */
function writeChunk(ctx: ClientContext, chunk: LogChunk): void {
  if (ctx.output === 'json') process.stdout.write(`${JSON.stringify(chunk)}\n`);
  else (chunk.stream === 'stderr' ? process.stderr : process.stdout).write(chunk.data);
}

/** Every chunk stored so far, following the pages. */
async function printStoredLogs(ctx: ClientContext, runId: string, attempt: number | undefined): Promise<void> {
  let cursor: string | undefined;
  for (;;) {
    const query = { limit: 1000, ...(cursor ? { cursor } : {}), ...(attempt !== undefined ? { attempt } : {}) };
    const page = ok(await ctx.client.GET('/v1/runs/{id}/logs', { params: { path: { id: runId }, query } }));
    for (const chunk of page.items) writeChunk(ctx, chunk);
    if (page.items.length < 1000 || !page.nextCursor) return;
    cursor = page.nextCursor;
  }
}

/**
 * Streams a run's output until it ends, then says how it ended; a run that did not succeed
 * makes the command exit 1, so `drover jobs run --follow x && next` chains like a local command.
 */
export async function followAndReport(ctx: ClientContext, runId: string, attempt?: number): Promise<void> {
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
      writeChunk(ctx, chunk);
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
      .option('--attempt <n>', "only this attempt's output"),
  ).action(
    clientAction(async (ctx, runId: string, flags: { follow?: boolean; attempt?: string }) => {
      const attempt = flags.attempt === undefined ? undefined : Number(flags.attempt);
      if (attempt !== undefined && !(Number.isInteger(attempt) && attempt >= 1))
        throw new UsageError(`--attempt "${flags.attempt}" is not an attempt number (1, 2, …)`);
      if (flags.follow) await followAndReport(ctx, runId, attempt);
      else await printStoredLogs(ctx, runId, attempt);
    }),
  );
}
