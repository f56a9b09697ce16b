// Applying a batch of agent events (started, log chunks, finished) with fencing: every
// change is guarded by the run's attempt token, its expected state and its assigned agent.
// One batch costs at most three statements however many runs it mentions (one more when
// a resent start comes with a result).
import { sql } from 'kysely';
import { isTerminal, NO_RETRY_POLICY, type AgentEvent, type HeldRun, type RetryPolicy, type RunState } from '@drover/shared';
import type { Db } from './db.js';
import { applyRunChanges, blankChange, type RunChange } from './run-changes.js';
import { settleEnd, type EndingRun } from '../runs/settle-ends.js';
import { storableEvent, storableLogData } from './agent-text.js';

/**
 * Folds events into one change per run, so a run that started and finished within one batch
 * costs one row update (offered → running → succeeded) with both transitions recorded.
 * A run mentioned with two different tokens in one batch goes to a second pass.
 */
export function foldEvents(events: readonly AgentEvent[]): RunChange[][] {
  const passes: Array<Map<string, RunChange>> = [new Map()];
  const place = (runId: string, token: number): { pass: Map<string, RunChange>; change: RunChange | undefined } => {
    for (const pass of passes) {
      const c = pass.get(runId);
      if (!c) return { pass, change: undefined };
      if (c.token === token) return { pass, change: c };
    }
    const pass = new Map<string, RunChange>();
    passes.push(pass);
    return { pass, change: undefined };
  };
  for (const e of events) {
    if (e.kind === 'log') continue;
    const { pass, change } = place(e.runId, e.token);
    if (e.kind === 'started') {
      if (change) continue; // a resent start after the run already moved on within this batch
      pass.set(e.runId, {
        ...blankChange(e.runId, e.token, 'offered'),
        state: 'running',
        started_at: e.at,
        steps: [{ from_state: 'offered', to_state: 'running', at: e.at, reason: null }],
      });
      continue;
    }
    const c: RunChange = change ?? blankChange(e.runId, e.token, 'running');
    if (isTerminal(c.state as RunState)) continue; // duplicate finish in one batch
    c.steps.push({ from_state: c.state, to_state: e.outcome, at: e.at, reason: e.error });
    Object.assign(c, {
      state: e.outcome,
      attempt_outcome: e.outcome,
      finished_at: e.at,
      exit_code: e.exitCode,
      signal: e.signal,
      http_status: e.httpStatus ?? null,
      error: e.error,
      duration_ms: Math.round(e.durationMs),
      cpu_time_ms: e.cpuTimeMs === null ? null : Math.round(e.cpuTimeMs),
      peak_memory_bytes: e.peakMemoryBytes,
      output_bytes: e.outputBytes ?? null,
      dropped_bytes: e.droppedBytes ?? null,
      last_lines: Array.isArray(e.lastLines) ? e.lastLines.slice(-20) : null,
    });
    pass.set(e.runId, c);
  }
  return passes.map((p) => [...p.values()]).filter((p) => p.length > 0);
}

/** Looks up the retry policies of jobs (by id); a job missing from the answer gets none. */
export type RetryPolicies = (jobIds: string[]) => Promise<Map<string, RetryPolicy>>;
/** Looks up the triggers each job's actions use (by id); a job missing from the answer is looked for in SQL. */
export type ActionTriggers = (jobIds: string[]) => Promise<Map<string, Set<string>>>;

/**
 * Drops the triggers of changes whose job (named by the agent's finished event) has no action
 * on them, so that the common case — a job without actions — makes the statement skip the
 * action lookup altogether. The statement still joins the run's real job for what remains.
 */
async function pruneTriggers(changes: RunChange[], jobOfRun: Map<string, string>, triggersOf: ActionTriggers): Promise<RunChange[]> {
  const ids = [...new Set(changes.flatMap((c) => (c.triggers.length > 0 && jobOfRun.has(c.id) ? [jobOfRun.get(c.id) as string] : [])))];
  if (ids.length === 0) return changes;
  const used = await triggersOf(ids);
  return changes.map((c) => {
    const jobId = jobOfRun.get(c.id);
    const has = jobId === undefined ? undefined : used.get(jobId);
    return has === undefined ? c : { ...c, triggers: c.triggers.filter((t) => has.has(t)) };
  });
}

/** Attempt outcomes the retry policy decides about. */
const FAILED_OUTCOMES = new Set<string | null>(['failed', 'timed_out', 'lost']);

/**
 * Settles the changes whose attempts failed, timed out or were given up by their agent: reads the runs' counters (one query,
 * only when a batch has such an ending) and decides retry or final state under each job's policy.
 */
async function settleFailures(db: Db, changes: RunChange[], policies: RetryPolicies): Promise<RunChange[]> {
  const failing = changes.filter((c) => FAILED_OUTCOMES.has(c.attempt_outcome));
  const settled = changes.map((c) => (c.attempt_outcome === 'succeeded' ? { ...c, triggers: ['on_success'] } : c));
  if (failing.length === 0) return settled;
  const rows = await db
    .selectFrom('runs')
    .select(['id', 'job_id', 'attempt', 'retry_base'])
    .where(
      'id',
      'in',
      failing.map((c) => c.id),
    )
    .execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const policyOf = await policies([...new Set(rows.map((r) => r.job_id))]);
  return settled.map((c) => {
    const row = byId.get(c.id);
    if (!row || !FAILED_OUTCOMES.has(c.attempt_outcome)) return c;
    const run: EndingRun = { attempt: row.attempt, retryBase: row.retry_base };
    return settleEnd(c, run, policyOf.get(row.job_id) ?? NO_RETRY_POLICY);
  });
}

/** Thrown for a log chunk whose data cannot be read as bytes: only this event is at fault. */
export class UnreadableChunkError extends Error {
  override name = 'UnreadableChunkError';
  readonly code = 'UNREADABLE_CHUNK';
}

async function insertLogs(db: Db, agentId: string, events: readonly AgentEvent[]): Promise<Set<string>> {
  const logs = events.flatMap((e) => {
    if (e.kind !== 'log') return [];
    const stored = storableLogData(e.data, e.encoding);
    if (typeof stored === 'string') throw new UnreadableChunkError(`log chunk ${e.seq} of run ${e.runId}: ${stored}`);
    return [{ id: e.runId, token: e.token, seq: e.seq, stream: e.stream, data: stored.data, b64: stored.base64, at: e.at }];
  });
  if (logs.length === 0) return new Set();
  // Chunks of a stale attempt do not join; resent chunks are ignored by the primary key. Text
  // travels as text (most output: no base64 on either side), the rest as base64.
  const res = await sql<{ id: string; token: number }>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(logs)}::jsonb)
        AS x(id text, token bigint, seq int, stream text, data text, b64 boolean, at double precision)
    ), ok AS (
      -- Not for an attempt handed back to the queue: its number is reused by the next attempt.
      SELECT i.*, r.attempt FROM input i JOIN runs r ON r.id = i.id AND r.attempt_token = i.token AND r.agent_id = ${agentId}
       WHERE r.state NOT IN ('pending', 'queued')
    ), ins AS (
      INSERT INTO run_logs (run_id, attempt, seq, stream, data, at)
      SELECT id, attempt, seq, stream, CASE WHEN b64 THEN decode(data, 'base64') ELSE convert_to(data, 'UTF8') END,
        to_timestamp(at / 1000.0) FROM ok
      ON CONFLICT DO NOTHING
    )
    SELECT DISTINCT id, token FROM ok`.execute(db);
  return new Set(res.rows.map((r) => `${r.id}:${r.token}`));
}

/** What the coordinator concluded from a batch. */
export interface AppliedBatch {
  /** Runs whose state changed: id → new state. */
  changed: Map<string, string>;
  /** Runs back in the queue at once (their agent gave the attempt up): add them to the ready queue. */
  requeued: Array<{ runId: string; jobId: string; priority: number }>;
  /** Runs now waiting for a retry: the scheduler should wake for them. */
  retrying: number;
  /** Action rows recorded: the action runner should look. */
  actions: number;
  /** Jobs of the runs that reached a terminal state in this batch. */
  endedJobs: Set<string>;
  /** Attempts the agent must stop: re-dispatched elsewhere, cancelled, or unknown. */
  stale: HeldRun[];
}

/**
 * Applies one agent's batch. Messages that fail fencing are recorded in `fenced_messages`
 * and reported back as stale; exact resends of already-applied events are ignored quietly.
 */
export async function applyAgentEvents(
  db: Db,
  agentId: string,
  reported: readonly AgentEvent[],
  policies: RetryPolicies = async () => new Map(),
  triggersOf: ActionTriggers = async () => new Map(),
): Promise<AppliedBatch> {
  const events = reported.map(storableEvent);
  const jobOfRun = new Map(
    events.flatMap((e) => (e.kind === 'finished' && typeof e.jobId === 'string' ? [[e.runId, e.jobId] as const] : [])),
  );
  const acceptedLogs = await insertLogs(db, agentId, events);
  const changed = new Map<string, string>();
  const endedJobs = new Set<string>();
  let retrying = 0;
  let actions = 0;
  const requeued: AppliedBatch['requeued'] = [];
  const rejected: Array<{ change?: RunChange; runId: string; token: number; kind: string }> = [];
  const guard = { agentId };
  for (const folded of foldEvents(events)) {
    const pass = await pruneTriggers(await settleFailures(db, folded, policies), jobOfRun, triggersOf);
    const first = await applyRunChanges(db, pass, guard);
    const applied = first.jobOf;
    // A start resent with the result (the report that carried the start was applied but its
    // answer was lost): the run is already running, so apply the rest of the change from there.
    const resumed = pass
      .filter((c) => !applied.has(c.id) && c.from_state === 'offered' && c.steps.length > 1)
      .map((c) => ({
        ...c,
        from_state: 'running',
        started_at: null,
        steps: c.steps.slice(1),
        if_cancelled: c.if_cancelled && { ...c.if_cancelled, steps: c.if_cancelled.steps.slice(1) },
      }));
    const second = resumed.length > 0 ? await applyRunChanges(db, resumed, guard) : undefined;
    actions += first.actions + (second?.actions ?? 0);
    for (const c of pass) {
      const jobId = applied.get(c.id) ?? second?.jobOf.get(c.id);
      const state = first.stateOf.get(c.id) ?? second?.stateOf.get(c.id);
      if (jobId !== undefined && state !== undefined) {
        changed.set(c.id, state);
        if (state === 'retrying') retrying++;
        const priority = first.priorityOf.get(c.id) ?? second?.priorityOf.get(c.id);
        if (state === 'queued' && priority !== undefined) requeued.push({ runId: c.id, jobId, priority });
        if (isTerminal(state as RunState)) endedJobs.add(jobId);
      } else rejected.push({ change: c, runId: c.id, token: c.token, kind: c.attempt_outcome !== null ? 'finished' : 'started' });
    }
  }
  const seenLogReject = new Set<string>();
  for (const e of events) {
    if (e.kind !== 'log' || acceptedLogs.has(`${e.runId}:${e.token}`) || seenLogReject.has(`${e.runId}:${e.token}`)) continue;
    seenLogReject.add(`${e.runId}:${e.token}`);
    rejected.push({ runId: e.runId, token: e.token, kind: 'log' });
  }
  if (rejected.length === 0) return { changed, endedJobs, requeued, retrying, actions, stale: [] };
  return { changed, endedJobs, requeued, retrying, actions, stale: await classifyRejected(db, agentId, rejected) };
}

/** Separates harmless resends from fenced messages, records the latter, and lists what to stop. */
async function classifyRejected(
  db: Db,
  agentId: string,
  rejected: Array<{ change?: RunChange; runId: string; token: number; kind: string }>,
): Promise<HeldRun[]> {
  const ids = [...new Set(rejected.map((r) => r.runId))];
  const rows = await db.selectFrom('runs').select(['id', 'attempt_token', 'agent_id', 'state']).where('id', 'in', ids).execute();
  const current = new Map(rows.map((r) => [r.id, r]));
  const fenced: Array<{ run_id: string; agent_id: string; kind: string; token: number; current_token: number | null }> = [];
  const stale = new Map<string, HeldRun>();
  for (const r of rejected) {
    const row = current.get(r.runId);
    const sameAttempt = row !== undefined && Number(row.attempt_token) === r.token && row.agent_id === agentId;
    if (sameAttempt) {
      const state = row.state as RunState;
      // A resend of something already applied: the run is at or past what the event says (a
      // run waiting for its next attempt, or queued for it, still names this attempt's agent).
      if (
        r.kind === 'log' ||
        (r.kind === 'started' && state === 'running') ||
        isTerminal(state) ||
        state === 'retrying' ||
        state === 'queued'
      ) {
        if (r.kind === 'started' && isTerminal(state) && !r.change?.steps.some((s) => isTerminal(s.to_state as RunState))) {
          stale.set(r.runId, { runId: r.runId, token: r.token }); // it was cancelled before it started: stop it
        }
        continue;
      }
    }
    fenced.push({
      run_id: r.runId,
      agent_id: agentId,
      kind: r.kind,
      token: r.token,
      current_token: row ? Number(row.attempt_token) : null,
    });
    stale.set(r.runId, { runId: r.runId, token: r.token });
  }
  if (fenced.length > 0) await db.insertInto('fenced_messages').values(fenced).execute();
  return [...stale.values()];
}
