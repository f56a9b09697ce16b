// What the metrics endpoint reports about the whole cluster, read at scrape time: live runs by
// state, and agents by state with their slots. One statement, two grouped reads:
// - runs: only the live states, which the `runs_state (state, id)` index answers with a range
//   scan per state, so the cost follows the live runs, not the history. Counting terminal
//   runs would scan every run ever kept; run ends are counted as they happen instead
//   (drover_runs_finished_total).
// - agents: the table holds one row per agent ever registered (gone ones until deleted), small.
import { sql } from 'kysely';
import { LIVE_RUN_STATES } from '@drover/shared';
import type { Db } from './db.js';

export interface ClusterCounts {
  /** Live runs by state (states without runs are absent). */
  runs: Map<string, number>;
  /** Agents by state, with the slots they advertise in total and free. */
  agents: Map<string, { count: number; slots: number; freeSlots: number }>;
}

/** Counts live runs and agents by state. */
export async function clusterCounts(db: Db): Promise<ClusterCounts> {
  const res = await sql<{ kind: 'run' | 'agent'; state: string; n: number; slots: number; free_slots: number }>`
    SELECT 'run' AS kind, state, count(*)::int AS n, 0 AS slots, 0 AS free_slots
      FROM runs WHERE state = ANY(${[...LIVE_RUN_STATES]}::text[]) GROUP BY state
    UNION ALL
    SELECT 'agent', state, count(*)::int, COALESCE(sum((total->>'slots')::int), 0)::int, COALESCE(sum((free->>'slots')::int), 0)::int
      FROM agents GROUP BY state`.execute(db);
  const counts: ClusterCounts = { runs: new Map(), agents: new Map() };
  for (const r of res.rows) {
    if (r.kind === 'run') counts.runs.set(r.state, r.n);
    else counts.agents.set(r.state, { count: r.n, slots: r.slots, freeSlots: r.free_slots });
  }
  return counts;
}
