// Offers not (yet) answered: the reconciler takes back those never taken up, and revoking an
// agent takes back every offer made to it (both hand them to returnToQueue, offer-runs.ts).
import { sql } from 'kysely';
import type { Db } from './db.js';

/** An offered attempt, by its run and the token the agent was given. */
export interface OpenOffer {
  runId: string;
  token: number;
  agentId: string | null;
}

/**
 * Offers never answered within `offerTimeoutMs`, or made to agents now down, at most 10,000;
 * an offer the agent may have taken and started (its start report cut off with it) is left
 * out while the job's disconnect rule `stop` would let a running attempt wait (see lose-runs.ts).
 */
export async function unansweredOffers(db: Db, offerTimeoutMs: number): Promise<OpenOffer[]> {
  const onDownAgent = sql<boolean>`EXISTS (SELECT 1 FROM agents a WHERE a.id = runs.agent_id AND a.state IN ('down', 'left', 'gone'))`;
  const mayStillRun = sql<boolean>`EXISTS (
    SELECT 1 FROM agents a WHERE a.id = runs.agent_id AND a.state IN ('down', 'left', 'gone') AND runs.redispatch_after_silence_ms IS NOT NULL
       AND a.last_heartbeat_at >= now() - make_interval(secs => runs.redispatch_after_silence_ms / 1000.0))`;
  const stuck = await db
    .selectFrom('runs')
    .select(['id', 'attempt_token', 'agent_id'])
    .where('state', '=', 'offered')
    .where((eb) =>
      eb.and([
        eb.not(mayStillRun),
        // One clock: offered_at is written on the cluster clock (PostgreSQL's) and judged by now().
        eb.or([eb('offered_at', '<', sql<Date>`now() - make_interval(secs => ${offerTimeoutMs / 1000})`), onDownAgent]),
      ]),
    )
    .limit(10_000)
    .execute();
  return stuck.map((r) => ({ runId: r.id, token: Number(r.attempt_token), agentId: r.agent_id }));
}

/** The runs offered to this agent and not yet answered. */
export async function offersToAgent(db: Db, agentId: string): Promise<OpenOffer[]> {
  const offered = await db
    .selectFrom('runs')
    .select(['id', 'attempt_token'])
    .where('state', '=', 'offered')
    .where('agent_id', '=', agentId)
    .execute();
  return offered.map((r) => ({ runId: r.id, token: Number(r.attempt_token), agentId }));
}
