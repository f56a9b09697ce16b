// One fenced statement for many run changes: the row update guarded by attempt token, expected
// state (and agent, for agent reports), the transitions it makes, and — when an attempt ended —
// its attempt record, its dead letter and the actions it fires. Everything a change implies is
// written in the same statement, so a crash can never keep the outcome and lose its actions.
import { sql } from 'kysely';
import type { Db } from './db.js';

export interface Step {
  from_state: string;
  to_state: string;
  at: number;
  reason: string | null;
}

/** The net change one batch makes to one attempt of one run. */
export interface RunChange {
  id: string;
  token: number;
  from_state: string;
  state: string;
  started_at: number | null;
  finished_at: number | null;
  exit_code: number | null;
  signal: string | null;
  http_status: number | null;
  error: string | null;
  duration_ms: number | null;
  cpu_time_ms: number | null;
  peak_memory_bytes: number | null;
  output_bytes: number | null;
  dropped_bytes: number | null;
  last_lines: string[] | null;
  /** Set when the attempt ended: its outcome, which writes the attempt's record. */
  attempt_outcome: string | null;
  /** State `retrying`: when the next attempt is due. */
  retry_at: number | null;
  /** Action triggers this change fires (`on_success`, …). */
  triggers: string[];
  /** Set when the run goes to the dead-letter list: why. */
  dead_reason: string | null;
  steps: Step[];
  /**
   * What the change becomes instead if the run has a cancel requested when the statement
   * locks it (see runs/settle-ends.ts): chosen in SQL, so a cancel racing an attempt's end wins.
   */
  if_cancelled: { state: string; steps: Step[]; triggers: string[] } | null;
}

/** A change that moves nothing yet: the run stays in `from`, no result fields, no steps. */
export function blankChange(id: string, token: number, from: string): RunChange {
  return {
    id,
    token,
    from_state: from,
    state: from,
    started_at: null,
    finished_at: null,
    exit_code: null,
    signal: null,
    http_status: null,
    error: null,
    duration_ms: null,
    cpu_time_ms: null,
    peak_memory_bytes: null,
    output_bytes: null,
    dropped_bytes: null,
    last_lines: null,
    attempt_outcome: null,
    retry_at: null,
    triggers: [],
    dead_reason: null,
    steps: [],
    if_cancelled: null,
  };
}

/** What applying changes did. */
export interface AppliedChanges {
  /** Runs updated: id → job id. */
  jobOf: Map<string, string>;
  /** Runs updated: id → the state they are in now (a cancel may have changed what the change said). */
  stateOf: Map<string, string>;
  /** Runs updated: id → priority (for those going back to the ready queue). */
  priorityOf: Map<string, number>;
  /** Action rows recorded (the action runner should look). */
  actions: number;
}

/**
 * Applies changes in one statement. `agentId` guards agent reports (only the assigned agent
 * moves a run); `attemptAgent` names the agent the attempt ran on, for its record.
 */
export async function applyRunChanges(
  db: Db,
  changes: readonly RunChange[],
  guard: { agentId: string | null },
  attemptAgent: (change: RunChange) => string | null = () => guard.agentId,
): Promise<AppliedChanges> {
  if (changes.length === 0) return { jobOf: new Map(), stateOf: new Map(), priorityOf: new Map(), actions: 0 };
  const input = JSON.stringify(
    changes.map(({ if_cancelled: alt, ...c }) => ({
      ...c,
      agent: attemptAgent(c as RunChange),
      c_state: alt?.state ?? null,
      c_steps: alt?.steps ?? null,
      c_triggers: alt?.triggers ?? null,
    })),
  );
  // True when the run has a cancel requested and the change has a variant for that. Read from
  // the row the UPDATE locked (never from a snapshot taken before), so a cancel committed
  // while this statement waited for the lock is seen.
  const cancelled = sql`(r.cancel_requested_at IS NOT NULL AND i.c_state IS NOT NULL)`;
  // The attempt, dead-letter and action parts are left out of the statement when no change needs them:
  // planning them costs more than running them, and most batches are successes of jobs
  // without actions.
  const attempts = changes.some((c) => c.attempt_outcome !== null)
    ? sql`, att AS (
      INSERT INTO run_attempts (run_id, attempt, attempt_token, agent_id, outcome, offered_at, started_at, finished_at,
        exit_code, signal, http_status, error, duration_ms, cpu_time_ms, peak_memory_bytes, violated_at, output_bytes,
        dropped_bytes, last_lines, retry_at)
      SELECT u.id, u.attempt, u.attempt_token, u.agent, u.attempt_outcome, u.offered_at, u.attempt_started_at,
        to_timestamp(u.finished_at / 1000.0), u.exit_code, u.signal, u.http_status, u.error, u.duration_ms, u.cpu_time_ms,
        u.peak_memory_bytes, u.violated_at, u.output_bytes, u.dropped_bytes, u.last_lines,
        CASE WHEN u.state = 'retrying' THEN to_timestamp(u.retry_at / 1000.0)
             WHEN u.state = 'queued' THEN to_timestamp(u.finished_at / 1000.0) END
        FROM upd u WHERE u.attempt_outcome IS NOT NULL
      ON CONFLICT DO NOTHING
    )`
    : sql``;
  const deadLetters = changes.some((c) => c.dead_reason !== null)
    ? sql`, dl AS (
      INSERT INTO dead_letters (run_id, job_id, attempt, state, reason, created_at)
      SELECT u.id, u.job_id, u.attempt, u.state, u.dead_reason, to_timestamp(u.finished_at / 1000.0)
        FROM upd u WHERE u.dead_reason IS NOT NULL
      ON CONFLICT (run_id) DO UPDATE SET attempt = EXCLUDED.attempt, state = EXCLUDED.state, reason = EXCLUDED.reason,
        created_at = EXCLUDED.created_at, resolved_at = NULL, resolution = NULL
    )`
    : sql``;
  const withActions = changes.some((c) => c.triggers.length > 0 || (c.if_cancelled?.triggers.length ?? 0) > 0);
  const actions = withActions
    ? sql`, act AS (
      ${recordActions(sql`SELECT id, job_id, attempt, attempt_token, triggers FROM upd WHERE jsonb_array_length(triggers) > 0`)}
    )`
    : sql``;
  const countActions = withActions ? sql`(SELECT count(*) FROM act)::int` : sql`0`;
  const res = await sql<{ id: string; job_id: string; state: string; priority: number; actions: number }>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${input}::jsonb) AS x(
        id text, token bigint, from_state text, state text, started_at double precision, finished_at double precision,
        exit_code int, signal text, http_status int, error text, duration_ms int, cpu_time_ms int, peak_memory_bytes bigint,
        output_bytes bigint, dropped_bytes bigint, last_lines jsonb, attempt_outcome text, retry_at double precision,
        triggers jsonb, dead_reason text, steps jsonb, agent text, c_state text, c_steps jsonb, c_triggers jsonb)
    ), upd AS (
      UPDATE runs r SET
        state = CASE WHEN ${cancelled} THEN i.c_state ELSE i.state END,
        started_at = COALESCE(to_timestamp(i.started_at / 1000.0), r.started_at),
        finished_at = CASE WHEN i.state IN ('queued', 'retrying') AND NOT ${cancelled} THEN NULL
                           ELSE COALESCE(to_timestamp(i.finished_at / 1000.0), r.finished_at) END,
        exit_code = COALESCE(i.exit_code, r.exit_code),
        signal = COALESCE(i.signal, r.signal),
        http_status = COALESCE(i.http_status, r.http_status),
        error = COALESCE(i.error, r.error),
        duration_ms = COALESCE(i.duration_ms, r.duration_ms),
        cpu_time_ms = COALESCE(i.cpu_time_ms, r.cpu_time_ms),
        peak_memory_bytes = COALESCE(i.peak_memory_bytes, r.peak_memory_bytes),
        output_bytes = COALESCE(i.output_bytes, r.output_bytes),
        dropped_bytes = COALESCE(i.dropped_bytes, r.dropped_bytes),
        last_lines = COALESCE(i.last_lines, r.last_lines),
        not_before = CASE WHEN i.state = 'retrying' AND NOT ${cancelled} THEN to_timestamp(i.retry_at / 1000.0) ELSE r.not_before END,
        queued_at = CASE WHEN i.state = 'queued' AND NOT ${cancelled} THEN to_timestamp(i.finished_at / 1000.0) ELSE r.queued_at END,
        agent_id = CASE WHEN i.state = 'queued' AND NOT ${cancelled} THEN NULL ELSE r.agent_id END
      FROM input i
      WHERE r.id = i.id AND r.attempt_token = i.token AND r.state = i.from_state
        AND (${guard.agentId}::text IS NULL OR r.agent_id = ${guard.agentId}::text)
      RETURNING r.id, r.job_id, r.priority, r.attempt, r.attempt_token, r.offered_at, r.started_at AS attempt_started_at, r.violated_at,
        r.state, CASE WHEN ${cancelled} THEN i.c_steps ELSE i.steps END AS steps, i.agent, i.attempt_outcome, i.finished_at,
        i.exit_code, i.signal, i.http_status, i.error, i.duration_ms, i.cpu_time_ms, i.peak_memory_bytes, i.output_bytes,
        i.dropped_bytes, i.last_lines, CASE WHEN ${cancelled} THEN NULL ELSE i.retry_at END AS retry_at,
        CASE WHEN ${cancelled} THEN i.c_triggers ELSE i.triggers END AS triggers,
        CASE WHEN ${cancelled} THEN NULL ELSE i.dead_reason END AS dead_reason
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, agent_id, reason, at)
      SELECT u.id, s.from_state, s.to_state, u.attempt_token, u.agent, s.reason, to_timestamp(s.at / 1000.0)
        FROM upd u, jsonb_to_recordset(u.steps) AS s(from_state text, to_state text, at double precision, reason text)
    )${attempts}${deadLetters}${actions}
    SELECT u.id, u.job_id, u.state, u.priority, ${countActions} AS actions FROM upd u`.execute(db);
  return {
    jobOf: new Map(res.rows.map((r) => [r.id, r.job_id])),
    stateOf: new Map(res.rows.map((r) => [r.id, r.state])),
    priorityOf: new Map(res.rows.map((r) => [r.id, r.priority])),
    actions: res.rows[0]?.actions ?? 0,
  };
}

/**
 * The INSERT that records the actions `source` fires: `source` yields `id, job_id, attempt,
 * attempt_token, triggers (a jsonb array)`; every action of the run's job whose trigger is
 * listed becomes a pending row. The unique key (run, attempt token, trigger, action) makes a
 * repeated event record nothing twice; the token grows with every dispatch and every retry by
 * hand, so a later event of the same kind is never mistaken for a repeat. Returns one row per
 * action recorded.
 */
export function recordActions(source: ReturnType<typeof sql>) {
  return sql`
    INSERT INTO action_runs (run_id, job_id, attempt, attempt_token, trigger, action_index, spec, next_at, created_at)
    SELECT s.id, s.job_id, s.attempt, s.attempt_token, a.spec->>'trigger', (a.idx - 1)::int, a.spec, now(), now()
      FROM (${source}) s
      JOIN jobs j ON j.id = s.job_id
      CROSS JOIN LATERAL jsonb_array_elements(COALESCE(j.definition->'actions', '[]'::jsonb)) WITH ORDINALITY AS a(spec, idx)
     WHERE s.triggers ? (a.spec->>'trigger')
    ON CONFLICT DO NOTHING
    RETURNING 1`;
}
