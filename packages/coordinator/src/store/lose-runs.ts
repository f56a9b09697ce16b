// Runs whose agent can no longer be running them are lost: the agent went `down` (and, under the
// job's disconnect rule `stop`, has been silent long enough to have stopped them itself), or it
// came back without them (it restarted faster than it could be declared down). The attempt ends
// `lost` and, when the job's retry policy allows (by default once), the run goes straight back
// to the queue; the next offer gives it a new attempt token, so anything the agent says about
// the old one is fenced. A run someone was cancelling ends `cancelled` instead.
import { sql, type RawBuilder } from 'kysely';
import { NO_RETRY_POLICY } from '@drover/shared';
import type { Db } from './db.js';
import type { RetryPolicies } from './apply-events.js';
import { applyRunChanges, blankChange } from './run-changes.js';
import { settleEnd } from '../runs/settle-ends.js';

export interface LostRun {
  runId: string;
  jobId: string;
  priority: number;
  agentId: string;
  /** True when the run went back to the queue; false when it ended or waits for a retry. */
  requeued: boolean;
  /** The state the run is in now: `queued`, `retrying`, or where it ended (`lost`, `cancelled`). */
  state: string;
}

/** What losing attempts did: the runs, and how many actions were recorded. */
export interface LostAttempts {
  runs: LostRun[];
  actions: number;
}

interface Candidate {
  id: string;
  job_id: string;
  priority: number;
  agent_id: string;
  attempt: number;
  attempt_token: number;
  retry_base: number;
}

/**
 * Loses the running attempts `candidates` selects (`runs` rows with the columns of
 * `Candidate`), saying `why` in each run's error and transition. Every change is guarded by
 * state and token, so a result that arrives meanwhile wins and the attempt is not lost.
 */
async function loseAttempts(
  db: Db,
  candidates: RawBuilder<Candidate>,
  why: string,
  at: number,
  policies: RetryPolicies,
): Promise<LostAttempts> {
  const rows = (await candidates.execute(db)).rows;
  if (rows.length === 0) return { runs: [], actions: 0 };
  const policyOf = await policies([...new Set(rows.map((r) => r.job_id))]);
  const changes = rows.map((r) => {
    const error = `agent ${r.agent_id} ${why} (attempt ${r.attempt})`;
    const change = {
      ...blankChange(r.id, Number(r.attempt_token), 'running'),
      state: 'lost',
      attempt_outcome: 'lost',
      finished_at: at,
      error,
      steps: [{ from_state: 'running', to_state: 'lost', at, reason: why }],
    };
    return settleEnd(change, { attempt: r.attempt, retryBase: r.retry_base }, policyOf.get(r.job_id) ?? NO_RETRY_POLICY);
  });
  const agentOf = new Map(rows.map((r) => [r.id, r.agent_id]));
  const applied = await applyRunChanges(db, changes, { agentId: null }, (c) => agentOf.get(c.id) ?? null);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const runs = changes
    .filter((c) => applied.jobOf.has(c.id))
    .map((c) => {
      const r = byId.get(c.id) as Candidate;
      const state = applied.stateOf.get(c.id) ?? 'lost';
      return { runId: r.id, jobId: r.job_id, priority: r.priority, agentId: r.agent_id, requeued: state === 'queued', state };
    });
  return { runs, actions: applied.actions };
}

const COLUMNS = sql`r.id, r.job_id, r.priority, r.agent_id, r.attempt, r.attempt_token, r.retry_base`;

/**
 * Ends the running attempts of every `down` or `gone` agent that cannot be running them any more;
 * returns what it did. Under `keep` (no silence recorded) that is as soon as the agent is down.
 * Under `stop`, only once the agent has been silent for the attempt's redispatch_after_silence_ms:
 * by then the agent, hearing no coordinator, has stopped it. One clock: PostgreSQL's now()
 * against last_heartbeat_at, which PostgreSQL wrote (never a coordinator's or an agent's clock).
 */
export async function loseRunsOfDownAgents(db: Db, at: number, policies: RetryPolicies): Promise<LostAttempts> {
  const kept = sql<Candidate>`
    SELECT ${COLUMNS}
      FROM runs r JOIN agents a ON a.id = r.agent_id
     WHERE r.state = 'running' AND a.state IN ('down', 'left', 'gone') AND r.redispatch_after_silence_ms IS NULL
     LIMIT 10000`;
  const stopped = sql<Candidate>`
    SELECT ${COLUMNS}
      FROM runs r JOIN agents a ON a.id = r.agent_id
     WHERE r.state = 'running' AND a.state IN ('down', 'left', 'gone') AND r.redispatch_after_silence_ms IS NOT NULL
       AND a.last_heartbeat_at < now() - make_interval(secs => r.redispatch_after_silence_ms / 1000.0)
     LIMIT 10000`;
  const a = await loseAttempts(db, kept, 'stopped heartbeating (disconnect mode keep: it may still be running the attempt)', at, policies);
  const b = await loseAttempts(
    db,
    stopped,
    "stopped heartbeating and has been silent past the job's disconnect.after, so it has stopped the attempt",
    at,
    policies,
  );
  return { runs: [...a.runs, ...b.runs], actions: a.actions + b.actions };
}

/** Ends attempts an agent was running but no longer holds (guarded by token and state). */
export async function loseUnheldAttempts(
  db: Db,
  agentId: string,
  attempts: ReadonlyArray<{ runId: string; token: number }>,
  at: number,
  policies: RetryPolicies,
): Promise<LostAttempts> {
  if (attempts.length === 0) return { runs: [], actions: 0 };
  const input = JSON.stringify(attempts.map((a) => ({ id: a.runId, token: a.token })));
  const candidates = sql<Candidate>`
    SELECT ${COLUMNS}
      FROM runs r JOIN jsonb_to_recordset(${input}::jsonb) AS i(id text, token bigint) ON i.id = r.id AND i.token = r.attempt_token
     WHERE r.state = 'running' AND r.agent_id = ${agentId}`;
  return loseAttempts(db, candidates, 'no longer holds the attempt (it restarted or lost it)', at, policies);
}

/** Ends every running attempt of one agent (it was revoked), saying `why`; retried per the job's policy. */
export async function loseRunsOfAgent(db: Db, agentId: string, why: string, at: number, policies: RetryPolicies): Promise<LostAttempts> {
  const candidates = sql<Candidate>`
    SELECT ${COLUMNS} FROM runs r WHERE r.state = 'running' AND r.agent_id = ${agentId} LIMIT 10000`;
  return loseAttempts(db, candidates, why, at, policies);
}

/** The attempts the records say `agentId` is running (startedAt: epoch ms, 0 when unknown). */
export async function runningAttemptsOn(db: Db, agentId: string): Promise<Array<{ runId: string; token: number; startedAt: number }>> {
  const running = await db
    .selectFrom('runs')
    .select(['id', 'attempt_token', 'started_at'])
    .where('agent_id', '=', agentId)
    .where('state', '=', 'running')
    .execute();
  return running.map((r) => ({
    runId: r.id,
    token: Number(r.attempt_token),
    startedAt: r.started_at ? new Date(r.started_at).getTime() : 0,
  }));
}
