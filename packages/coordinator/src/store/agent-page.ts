// A page of the fleet for a table: agents filtered by state and labels, ordered by name, with
// how many runs each holds. A fleet of thousands is read a page at a time.
import { sql } from 'kysely';
import type { Db } from './db.js';
import { toAgent, type Agent, type AgentRow } from './agents.js';

export interface AgentPageQuery {
  states?: string[];
  /** Every one of these labels must be set to this value. */
  labels?: Record<string, string>;
  limit: number;
  /** The id of the last agent of the previous page. */
  after?: string;
}

/** An agent with the number of runs it holds (offered or running). */
export type AgentWithRuns = Agent & { runningRuns: number };

/** One page of agents by (name, id), the total matching the filters, and each agent's runs. */
export async function listAgentPage(db: Db, query: AgentPageQuery): Promise<{ agents: AgentWithRuns[]; total: number }> {
  let base = db.selectFrom('agents');
  if (query.states && query.states.length > 0) base = base.where('state', 'in', query.states);
  if (query.labels && Object.keys(query.labels).length > 0)
    base = base.where(sql<boolean>`labels @> ${JSON.stringify(query.labels)}::jsonb`);
  let page = base.selectAll();
  // Keyset on (name, id): names repeat (hostnames), ids break the tie.
  if (query.after) page = page.where(sql<boolean>`(name, id) > (SELECT a.name, a.id FROM agents a WHERE a.id = ${query.after})`);
  const [rows, count] = await Promise.all([
    page.orderBy('name').orderBy('id').limit(query.limit).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  const ids = rows.map((r) => r.id);
  // runs_active covers (state, agent_id) for offered and running runs.
  const held =
    ids.length === 0
      ? []
      : await db
          .selectFrom('runs')
          .select(['agent_id', (eb) => eb.fn.countAll<number>().as('n')])
          .where('state', 'in', ['offered', 'running'])
          .where('agent_id', 'in', ids)
          .groupBy('agent_id')
          .execute();
  const byAgent = new Map(held.map((h) => [h.agent_id, Number(h.n)]));
  return {
    agents: rows.map((r) => ({ ...toAgent(r as AgentRow), runningRuns: byAgent.get(r.id) ?? 0 })),
    total: Number(count.n),
  };
}
