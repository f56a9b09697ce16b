// `drover runs ls|get|cancel|retry`: runs of jobs, through @drover/client.
import { Option, type Command } from 'commander';
import { ok, type Attempt, type Run } from '@drover/client';
import { addClientOptions, clientAction, UsageError, type ClientContext } from './context.js';
import { formatFields, formatTable, type Column } from '../../output/table.js';
import { humanBytes, humanDuration, instant, relativeTime } from '../../output/units.js';

/**
 * The names of these jobs, for tables that would otherwise show only ULIDs: one call for just
 * these ids (never the whole job list, which may be longer than a page); ids stay when the
 * lookup fails or the job was deleted.
 */
async function jobNames(ctx: ClientContext, ids: readonly string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const unique = [...new Set(ids)];
  // The API names at most 1000 jobs per call.
  for (let i = 0; i < unique.length; i += 1000) {
    const { data } = await ctx.client.GET('/v1/job-summaries', { params: { query: { ids: unique.slice(i, i + 1000).join(',') } } });
    for (const s of data?.items ?? []) names.set(s.jobId, s.name);
  }
  return names;
}

/** Why a run is where it is: the error of a failure, the reason it waits or was skipped. */
export function runReason(run: Pick<Run, 'error' | 'queueReason' | 'skipReason'>): string {
  return run.error ?? run.queueReason ?? run.skipReason ?? '';
}

function outcome(r: Pick<Run, 'exitCode' | 'signal' | 'httpStatus'>): string {
  if (r.signal) return r.signal;
  if (r.httpStatus !== null) return `HTTP ${r.httpStatus}`;
  return r.exitCode === null ? '-' : String(r.exitCode);
}

const runColumns = (now: number, names: Map<string, string>): Column<Run>[] => [
  { header: 'RUN', value: (r) => r.id },
  { header: 'JOB', value: (r) => names.get(r.jobId) ?? r.jobId, max: 32 },
  { header: 'STATE', value: (r) => r.state },
  { header: 'TRIGGER', value: (r) => r.trigger },
  { header: 'ATTEMPT', value: (r) => r.attempt, right: true },
  { header: 'CREATED', value: (r) => relativeTime(r.createdAt, now) },
  { header: 'DURATION', value: (r) => humanDuration(r.durationMs), right: true },
  { header: 'EXIT', value: (r) => outcome(r), right: true },
  { header: 'REASON', value: (r) => runReason(r), wrap: true },
];

const attemptColumns = (now: number): Column<Attempt>[] => [
  { header: 'ATTEMPT', value: (a) => a.attempt, right: true },
  { header: 'OUTCOME', value: (a) => a.outcome },
  { header: 'AGENT', value: (a) => a.agentId },
  { header: 'STARTED', value: (a) => relativeTime(a.startedAt, now) },
  { header: 'DURATION', value: (a) => humanDuration(a.durationMs), right: true },
  { header: 'EXIT', value: (a) => outcome(a), right: true },
  { header: 'PEAK MEM', value: (a) => humanBytes(a.peakMemoryBytes), right: true },
  { header: 'ERROR', value: (a) => a.error, wrap: true },
];

/** A positive whole number from an option, or a usage error naming it. */
export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} "${value}" is not a whole number above 0`);
  return n;
}

// Not @drover/shared's list: a client verb does not load the bus and the scheduler. The
// compiler keeps the two in step: a state the API adds and this list lacks is a type error.
const RUN_STATES = [
  'pending',
  'queued',
  'offered',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'lost',
  'expired',
  'skipped',
] as const satisfies readonly Run['state'][];
const everyState: Exclude<Run['state'], (typeof RUN_STATES)[number]> extends never ? true : never = true;
void everyState;

/** The states of `--state`, checked here: a misspelt state is a mistake on the command line (exit 2). */
export function runStates(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const states = value.split(',').map((s) => s.trim());
  const unknown = states.filter((s) => !(RUN_STATES as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new UsageError(
      `${flag}: ${unknown.map((s) => `"${s}"`).join(', ')} is not a run state; use one or more of ${RUN_STATES.join(', ')}`,
    );
  return states.join(',');
}

export function registerRunCommands(program: Command): void {
  const runs = addClientOptions(program.command('runs').description('list, inspect, cancel and retry runs'));

  runs
    .command('ls')
    .description('list runs, newest first')
    .option('--job <job>', 'only runs of this job (id or name)')
    .option('--state <states>', 'only runs in these states, comma-separated (e.g. failed,timed_out)')
    .addOption(new Option('--status <states>', 'deprecated: the former name of --state').hideHelp())
    .option('--limit <n>', 'at most this many runs', '20')
    .action(
      clientAction(async (ctx, flags: { job?: string; state?: string; status?: string; limit: string }) => {
        const limit = positiveInt(flags.limit, '--limit') ?? 20;
        if (flags.status !== undefined) {
          if (flags.state !== undefined) throw new UsageError('give --state or its deprecated name --status, not both');
          process.stderr.write('drover: --status is deprecated and goes in 0.2: use --state\n');
        }
        const state = runStates(flags.state ?? flags.status, flags.state !== undefined ? '--state' : '--status');
        const items: Run[] = [];
        let cursor: string | undefined;
        do {
          const query = {
            limit: Math.min(1000, limit - items.length),
            ...(flags.job ? { job: flags.job } : {}),
            ...(state ? { state } : {}),
            ...(cursor ? { cursor } : {}),
          };
          const page = ok(await ctx.client.GET('/v1/runs', { params: { query } }));
          items.push(...page.items);
          cursor = page.nextCursor ?? undefined;
        } while (cursor && items.length < limit);
        if (ctx.output === 'json') return ctx.printJson(items);
        const names = await jobNames(
          ctx,
          items.map((r) => r.jobId),
        );
        ctx.print(formatTable(items, runColumns(ctx.now(), names), 'no runs match', ctx));
      }),
    );

  runs
    .command('get')
    .description('show a run: its state, attempts, state history, events that could not be stored and last lines of output')
    .argument('<run>', 'run id')
    .action(
      clientAction(async (ctx, id: string) => {
        const run = ok(await ctx.client.GET('/v1/runs/{id}', { params: { path: { id } } }));
        if (ctx.output === 'json') return ctx.printJson(run);
        const now = ctx.now();
        const names = await jobNames(ctx, [run.jobId]);
        const params = Object.entries(run.parameters).map(([k, v]) => `${k}=${v}`);
        ctx.print(
          formatFields([
            ['run', run.id],
            ['job', names.has(run.jobId) ? `${names.get(run.jobId)} (${run.jobId})` : run.jobId],
            ['state', run.state],
            ['reason', runReason(run)],
            ['trigger', run.trigger],
            ['parameters', params.join(' ')],
            ['priority', run.priority],
            ['attempt', run.attempt],
            ['agent', run.agentId],
            ['exit', run.exitCode !== null || run.signal || run.httpStatus !== null ? outcome(run) : undefined],
            ['duration', run.durationMs === null ? undefined : humanDuration(run.durationMs)],
            [
              'output',
              run.outputBytes === null
                ? undefined
                : `${humanBytes(run.outputBytes)}${run.droppedBytes ? ` (${humanBytes(run.droppedBytes)} dropped)` : ''}`,
            ],
            ['created', instant(run.createdAt, now)],
            ['not before', instant(run.notBefore, now)],
            ['started', instant(run.startedAt, now)],
            ['finished', instant(run.finishedAt, now)],
          ]),
        );
        if (run.attempts.length > 0) ctx.print(`\nATTEMPTS\n${formatTable(run.attempts, attemptColumns(now), undefined, ctx)}`);
        if (run.transitions.length > 0) {
          ctx.print(
            `\nHISTORY\n${formatTable(
              run.transitions,
              [
                { header: 'AT', value: (t) => t.at },
                { header: 'FROM', value: (t) => t.from },
                { header: 'TO', value: (t) => t.to },
                { header: 'REASON', value: (t) => t.reason, wrap: true },
              ],
              undefined,
              ctx,
            )}`,
          );
        }
        if (run.rejectedEvents.length > 0) {
          ctx.print(
            `\nREPORTED EVENTS THAT COULD NOT BE STORED\n${formatTable(
              run.rejectedEvents,
              [
                { header: 'AT', value: (r) => r.at },
                { header: 'KIND', value: (r) => (r.seq === null ? r.kind : `${r.kind} ${r.seq}`) },
                { header: 'AGENT', value: (r) => r.agentId },
                { header: 'REASON', value: (r) => r.reason, wrap: true },
              ],
              undefined,
              ctx,
            )}`,
          );
        }
        if (run.lastLines.length > 0) ctx.print(`\nLAST LINES\n${run.lastLines.map((l) => `  ${l}`).join('\n')}\n`);
      }),
    );

  runs
    .command('cancel')
    .description('cancel a run: at once when not on an agent, else its agent stops it (SIGTERM, then SIGKILL)')
    .argument('<run>', 'run id')
    .option('--reason <text>', 'why, recorded in its history')
    .action(
      clientAction(async (ctx, id: string, flags: { reason?: string }) => {
        const res = await ctx.client.POST('/v1/runs/{id}/cancel', {
          params: { path: { id } },
          body: flags.reason ? { reason: flags.reason } : {},
        });
        const run = ok(res);
        if (ctx.output === 'json') return ctx.printJson(run);
        ctx.print(res.response.status === 202 ? `run ${run.id}: stopping on its agent\n` : `run ${run.id}: ${run.state}\n`);
      }),
    );

  runs
    .command('retry')
    .description('retry a finished run: one more attempt with a fresh retry budget')
    .argument('<run>', 'run id')
    .action(
      clientAction(async (ctx, id: string) => {
        const run = ok(await ctx.client.POST('/v1/runs/{id}/retry', { params: { path: { id } } }));
        if (ctx.output === 'json') return ctx.printJson(run);
        ctx.print(`run ${run.id}: ${run.state} (retried by hand)\n`);
      }),
    );
}
