// Action runs: the actions a run's events fired (recorded with the event that fired them),
// claimed by any coordinator's action runner under a lease, and their outcomes.
import { sql } from 'kysely';
import type { ActionSpec, ActionState, ActionTrigger } from '@drover/shared';
import type { Db } from './db.js';
import { getRun } from './query-runs.js';
import type { Run } from './run-model.js';

/** An action a runner has claimed: its lease runs until `now + leaseMs`, and `tries` counts this try. */
export interface ClaimedAction {
  id: number;
  runId: string;
  jobId: string;
  attempt: number;
  trigger: ActionTrigger;
  actionIndex: number;
  spec: ActionSpec;
  tries: number;
  createdAt: Date;
}

interface ActionRow {
  id: number;
  run_id: string;
  job_id: string;
  attempt: number;
  trigger: string;
  action_index: number;
  spec: unknown;
  state: string;
  tries: number;
  next_at: Date;
  last_error: string | null;
  last_status: number | null;
  result: unknown;
  created_at: Date;
  finished_at: Date | null;
}

const at = (ms: number) => sql`to_timestamp(${ms} / 1000.0)`;

/**
 * Claims up to `limit` due actions, oldest due first, in one statement: each claimed row's
 * `next_at` moves to the end of the lease and its `tries` grows, so a coordinator that dies
 * mid-action leaves the row for another to retry once the lease is over. SKIP LOCKED lets
 * every coordinator claim at once without waiting on, or taking, another's rows.
 */
export async function claimDueActions(db: Db, now: number, limit: number, leaseMs: number): Promise<ClaimedAction[]> {
  const res = await sql<ActionRow>`
    WITH due AS (
      SELECT id FROM action_runs
       WHERE state = 'pending' AND next_at <= ${at(now)}
       ORDER BY next_at
       LIMIT ${limit}
         FOR UPDATE SKIP LOCKED
    )
    UPDATE action_runs a SET next_at = ${at(now + leaseMs)}, tries = a.tries + 1
      FROM due WHERE a.id = due.id
    RETURNING a.*`.execute(db);
  return res.rows.map((r) => ({
    id: r.id,
    runId: r.run_id,
    jobId: r.job_id,
    attempt: r.attempt,
    trigger: r.trigger as ActionTrigger,
    actionIndex: r.action_index,
    spec: r.spec as ActionSpec,
    tries: r.tries,
    createdAt: r.created_at,
  }));
}

/** How one try ended, as the runner records it. */
export type ActionRecord =
  | { state: 'succeeded'; status: number | null; result: unknown }
  | { state: 'failed'; status: number | null; error: string }
  | { state: 'pending'; status: number | null; error: string; nextAt: number; giveBackTry?: boolean };

/**
 * Records a try's outcome. Guarded by the try it was claimed with: a runner whose lease ran
 * out (and whose row another runner claimed again) records nothing. Returns whether it did.
 */
export async function recordActionTry(db: Db, action: { id: number; tries: number }, record: ActionRecord, now: number): Promise<boolean> {
  const set =
    record.state === 'succeeded'
      ? sql`state = 'succeeded', finished_at = ${at(now)}, last_status = ${record.status}, last_error = NULL,
            result = ${JSON.stringify(record.result ?? null)}::jsonb`
      : record.state === 'failed'
        ? sql`state = 'failed', finished_at = ${at(now)}, last_status = ${record.status}, last_error = ${record.error}`
        : sql`next_at = ${at(record.nextAt)}, last_status = ${record.status}, last_error = ${record.error},
              tries = tries - ${record.giveBackTry ? 1 : 0}`;
  const res = await sql`
    UPDATE action_runs SET ${set}
     WHERE id = ${action.id} AND state = 'pending' AND tries = ${action.tries}`.execute(db);
  return Number(res.numAffectedRows ?? 0) > 0;
}

/** An action run as the API shows it. */
export interface ActionRunView {
  id: string;
  runId: string;
  jobId: string;
  attempt: number;
  trigger: string;
  actionIndex: number;
  type: string;
  /** The action as the job defined it when it fired (webhook header values hidden). */
  spec: Record<string, unknown>;
  state: ActionState;
  tries: number;
  /** When a pending action is tried next; null once it is over. */
  nextAt: string | null;
  lastError: string | null;
  lastStatus: number | null;
  result: unknown;
  createdAt: string;
  finishedAt: string | null;
}

/** Header values often carry tokens: the API names the headers but never shows their values. */
function withoutSecrets(spec: Record<string, unknown>): Record<string, unknown> {
  const headers = spec.headers as Record<string, string> | undefined;
  if (!headers) return spec;
  return { ...spec, headers: Object.fromEntries(Object.keys(headers).map((k) => [k, '(hidden)'])) };
}

function toView(r: ActionRow): ActionRunView {
  const spec = (r.spec ?? {}) as Record<string, unknown>;
  return {
    id: String(r.id),
    runId: r.run_id,
    jobId: r.job_id,
    attempt: r.attempt,
    trigger: r.trigger,
    actionIndex: r.action_index,
    type: String(spec.type ?? 'unknown'),
    spec: withoutSecrets(spec),
    state: r.state as ActionState,
    tries: r.tries,
    nextAt: r.state === 'pending' ? new Date(r.next_at).toISOString() : null,
    lastError: r.last_error,
    lastStatus: r.last_status,
    result: r.result ?? null,
    createdAt: new Date(r.created_at).toISOString(),
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
  };
}

/** Every action a run fired, in the order they were recorded. */
export async function listRunActions(db: Db, runId: string): Promise<ActionRunView[]> {
  const rows = await db.selectFrom('action_runs').selectAll().where('run_id', '=', runId).orderBy('id').execute();
  return (rows as unknown as ActionRow[]).map(toView);
}

export interface ActionFilter {
  states?: ActionState[];
  jobId?: string;
  /** Only actions of jobs in these namespaces; 'all' (or absent) filters nothing. */
  namespaces?: readonly string[] | 'all';
}

/** Newest action runs first; `before` is the cursor (the last id of the previous page). */
export async function listActions(
  db: Db,
  filter: ActionFilter,
  page: { limit: number; before?: number },
): Promise<{ items: ActionRunView[]; total: number }> {
  let base = db.selectFrom('action_runs');
  if (filter.namespaces !== undefined && filter.namespaces !== 'all') {
    const ns = filter.namespaces.length > 0 ? [...filter.namespaces] : [''];
    base = base.where('job_id', 'in', (eb) => eb.selectFrom('jobs').select('jobs.id').where('jobs.namespace', 'in', ns));
  }
  if (filter.states && filter.states.length > 0) base = base.where('state', 'in', filter.states);
  if (filter.jobId) base = base.where('job_id', '=', filter.jobId);
  let pageQ = base.selectAll();
  if (page.before !== undefined) pageQ = pageQ.where('id', '<', page.before);
  const [rows, count] = await Promise.all([
    pageQ.orderBy('id', 'desc').limit(page.limit).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: (rows as unknown as ActionRow[]).map(toView), total: Number(count.n) };
}

/** The run an action fired for, and its job's name (the job may have been deleted since). */
export async function actionSource(db: Db, runId: string, jobId: string): Promise<{ run: Run | undefined; jobName: string }> {
  const [run, job] = await Promise.all([
    getRun(db, runId),
    db.selectFrom('jobs').select('name').where('id', '=', jobId).executeTakeFirst(),
  ]);
  return { run, jobName: job?.name ?? jobId };
}
