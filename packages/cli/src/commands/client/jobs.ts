// `drover jobs apply|ls|get|rm|pause|resume|run`: job definitions, through @drover/client.
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { DroverConnectionError, jobDefinitionOf, mergePatch, ok, type Job, type paths } from '@drover/client';
import { addClientOptions, clientAction, explain, ExitCode, UsageError, type ClientContext } from './context.js';
import { collect, parseParams, readJobFile } from './params.js';
import { formatTable, type Column } from '../../output/table.js';
import { escapeControls } from '../../output/escape.js';
import { relativeTime } from '../../output/units.js';
import { followAndReport } from './logs.js';

type ApplyResult = 'created' | 'updated' | 'unchanged';
/** A definition as POST /v1/jobs takes it; a file's content is checked by the API, not here. */
type JobDefinitionBody = paths['/v1/jobs']['post']['requestBody']['content']['application/json'];

/** Creates the job named in `def`, or brings the existing one in line with it. */
export async function applyJob(ctx: ClientContext, def: Record<string, unknown>): Promise<{ result: ApplyResult; job: Job }> {
  const name = def.name as string;
  // The job of that name in the file's namespace (the API's `default` when it names none):
  // a job of the same name in another namespace is another job.
  const namespace = typeof def.namespace === 'string' ? def.namespace : 'default';
  const found = await ctx.client.GET('/v1/jobs/{id}', { params: { path: { id: `${namespace}/${name}` } } });
  if (found.response.status === 404) {
    const job = ok(await ctx.client.POST('/v1/jobs', { body: def as JobDefinitionBody }));
    return { result: 'created', job };
  }
  const current = ok(found);
  const patch = mergePatch(jobDefinitionOf(current as Record<string, unknown>), { ...def, namespace });
  if (Object.keys(patch).length === 0) return { result: 'unchanged', job: current };
  const job = ok(await ctx.client.PATCH('/v1/jobs/{id}', { params: { path: { id: current.id } }, body: patch }));
  return { result: 'updated', job };
}

/** Every job, following the pages. */
async function allJobs(ctx: ClientContext): Promise<Job[]> {
  const jobs: Job[] = [];
  let cursor: string | undefined;
  do {
    const page = ok(await ctx.client.GET('/v1/jobs', { params: { query: { limit: 1000, ...(cursor ? { cursor } : {}) } } }));
    jobs.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return jobs;
}

function scheduleText(job: Job): string {
  const s = job.schedule;
  if (!s) return 'manual';
  const when =
    s.cron !== undefined ? `cron ${s.cron}` : s.every !== undefined ? `every ${s.every}` : s.at !== undefined ? `at ${s.at}` : '?';
  return s.timezone && s.timezone !== 'UTC' ? `${when} ${s.timezone}` : when;
}

const jobColumns = (now: number): Column<Job>[] => [
  { header: 'NAME', value: (j) => j.name, max: 40 },
  { header: 'ID', value: (j) => j.id },
  { header: 'EXECUTOR', value: (j) => j.executor.type },
  { header: 'SCHEDULE', value: (j) => scheduleText(j), max: 40 },
  { header: 'STATE', value: (j) => (j.pausedAt ? 'paused' : 'active') },
  { header: 'PRIORITY', value: (j) => j.priority ?? 50, right: true },
  { header: 'UPDATED', value: (j) => relativeTime(j.updatedAt, now) },
];

/** The options of `jobs run`. */
interface RunFlags {
  param?: string[];
  delay?: string;
  priority?: string;
  follow?: boolean;
  raw?: boolean;
}

const jobArg = '<job>';
const jobArgHelp = 'job id or name';

export function registerJobCommands(program: Command): void {
  const jobs = addClientOptions(program.command('jobs').description('define, list, run and change jobs on a coordinator'));

  jobs
    .command('apply')
    .description('create each job in a file, or update the job of that name to match it (prints created, updated or unchanged)')
    .requiredOption('-f, --file <file...>', 'a .json (object or array) or .yaml file (--- between jobs); - reads stdin')
    .action(
      clientAction(async (ctx, flags: { file: string[] }) => {
        const defs = flags.file.flatMap((f) => readJobFile(f));
        const results: Array<{ result: ApplyResult; job: Job }> = [];
        let failed = 0;
        for (const def of defs) {
          try {
            const r = await applyJob(ctx, def);
            results.push(r);
            if (ctx.output === 'table') ctx.print(`${r.job.name}: ${r.result}\n`);
          } catch (err) {
            failed++;
            // One bad definition does not stop the others: report it and go on, as a file is a batch.
            process.stderr.write(escapeControls(`drover: job "${String(def.name)}" was not applied: ${explain(err)}\n`));
            if (err instanceof DroverConnectionError) break; // the rest would fail the same way
          }
        }
        if (ctx.output === 'json') ctx.printJson(results);
        if (failed > 0) throw new ExitCode(1, `${failed} of ${defs.length} job${defs.length === 1 ? '' : 's'} not applied`);
      }),
    );

  jobs
    .command('ls')
    .description('list jobs by name')
    .action(
      clientAction(async (ctx) => {
        const items = await allJobs(ctx);
        if (ctx.output === 'json') return ctx.printJson(items);
        ctx.print(formatTable(items, jobColumns(ctx.now()), 'no jobs yet: define one with drover jobs apply -f job.yaml'));
      }),
    );

  jobs
    .command('get')
    .description('show a job: its definition as YAML (ready for jobs apply -f)')
    .argument(jobArg, jobArgHelp)
    .action(
      clientAction(async (ctx, id: string) => {
        const job = ok(await ctx.client.GET('/v1/jobs/{id}', { params: { path: { id } } }));
        if (ctx.output === 'json') return ctx.printJson(job);
        const meta = [`# id ${job.id}, created ${job.createdAt}, updated ${relativeTime(job.updatedAt, ctx.now())}`];
        if (job.pausedAt) meta.push(`# schedule paused since ${job.pausedAt}`);
        ctx.print(`${meta.join('\n')}\n${toYaml(jobDefinitionOf(job as Record<string, unknown>))}`);
      }),
    );

  jobs
    .command('rm')
    .description('delete a job: its queued runs are cancelled, its history kept')
    .argument(jobArg, jobArgHelp)
    .action(
      clientAction(async (ctx, id: string) => {
        ok(await ctx.client.DELETE('/v1/jobs/{id}', { params: { path: { id } } }));
        if (ctx.output === 'json') return ctx.printJson({ deleted: id });
        ctx.print(`deleted job ${id}\n`);
      }),
    );

  for (const action of ['pause', 'resume'] as const) {
    jobs
      .command(action)
      .description(action === 'pause' ? "pause a job's schedule" : "resume a job's schedule (missed fires follow its catch-up policy)")
      .argument(jobArg, jobArgHelp)
      .action(
        clientAction(async (ctx, id: string) => {
          const path = action === 'pause' ? '/v1/jobs/{id}/pause' : '/v1/jobs/{id}/resume';
          const job = ok(await ctx.client.POST(path, { params: { path: { id } } }));
          if (ctx.output === 'json') return ctx.printJson(job);
          ctx.print(`${job.name}: ${job.pausedAt ? 'paused' : 'active'}\n`);
        }),
      );
  }

  jobs
    .command('run')
    .description('trigger a run of a job; --follow streams its output until it ends (exit code 1 unless it succeeded)')
    .argument(jobArg, jobArgHelp)
    .option('-p, --param <name=value>', 'a run parameter (repeatable)', collect)
    .option('--delay <duration>', 'start no earlier than this from now, e.g. 10m (the run waits as pending)')
    .option('--priority <0-100>', "the run's priority (default: the job's)")
    .option('-f, --follow', "stream the run's output until it ends")
    .option('--raw', 'with --follow: write the output as printed (control characters, bytes that are not UTF-8), even to a terminal')
    .action(
      clientAction(async (ctx, id: string, flags: RunFlags) => {
        const parameters = parseParams(flags.param);
        const priority = flags.priority === undefined ? undefined : Number(flags.priority);
        if (priority !== undefined && !(Number.isInteger(priority) && priority >= 0 && priority <= 100))
          throw new UsageError(`--priority "${flags.priority}" is not a whole number from 0 to 100`);
        const body = {
          ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
          ...(flags.delay ? { delay: flags.delay } : {}),
          ...(priority !== undefined ? { priority } : {}),
        };
        const run = ok(await ctx.client.POST('/v1/jobs/{id}/runs', { params: { path: { id } }, body }));
        if (!flags.follow) {
          if (ctx.output === 'json') return ctx.printJson(run);
          ctx.print(`run ${run.id}: ${run.state}${run.notBefore ? ` until ${run.notBefore}` : ''}\n`);
          return;
        }
        if (ctx.output === 'json') ctx.print(`${JSON.stringify(run)}\n`);
        else process.stderr.write(`run ${run.id}: ${run.state}; following its output\n`);
        await followAndReport(ctx, run.id, undefined, { raw: flags.raw === true });
      }),
    );
}
