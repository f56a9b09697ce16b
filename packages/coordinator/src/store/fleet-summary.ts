// The fleet at a glance: agents by state, capacity in total and free (overall and per label),
// who is down, and how many runs were lost with their agent in the last hour.
import { sql } from 'kysely';
import type { Capacity } from '@drover/shared';
import type { Db } from './db.js';
import { listAgents } from './agents.js';

export interface FleetSummary {
  agents: { total: number; byState: Record<string, number> };
  /** Capacity of agents that are up (ready, draining, cordoned); free counts only `ready` agents. */
  capacity: { total: Capacity; free: Capacity };
  byLabel: Array<{ label: string; agents: number; total: Capacity; free: Capacity }>;
  down: Array<{ id: string; name: string; lastHeartbeatAt: string }>;
  runsLostLastHour: number;
}

const zero = (): Capacity => ({ slots: 0, cpu: 0, memoryBytes: 0 });
const add = (a: Capacity, b: Capacity) => {
  a.slots += b.slots;
  a.cpu += b.cpu;
  a.memoryBytes += b.memoryBytes;
};

/** Builds the summary from the agents table and the lost-run transitions. */
export async function fleetSummary(db: Db): Promise<FleetSummary> {
  const [agents, lost] = await Promise.all([
    listAgents(db),
    sql<{ n: number }>`SELECT count(*)::int AS n FROM run_transitions WHERE to_state = 'lost' AND at > now() - interval '1 hour'`.execute(
      db,
    ),
  ]);
  const byState: Record<string, number> = {};
  const total = zero();
  const free = zero();
  const labels = new Map<string, { label: string; agents: number; total: Capacity; free: Capacity }>();
  for (const a of agents) {
    byState[a.state] = (byState[a.state] ?? 0) + 1;
    if (a.state === 'down' || a.state === 'left' || a.state === 'gone') continue;
    add(total, a.total);
    if (a.state === 'ready') add(free, a.free);
    for (const [k, v] of Object.entries(a.labels)) {
      const key = `${k}=${v}`;
      const e = labels.get(key) ?? { label: key, agents: 0, total: zero(), free: zero() };
      e.agents++;
      add(e.total, a.total);
      if (a.state === 'ready') add(e.free, a.free);
      labels.set(key, e);
    }
  }
  return {
    agents: { total: agents.length, byState },
    capacity: { total, free },
    byLabel: [...labels.values()].sort((x, y) => x.label.localeCompare(y.label)),
    down: agents.filter((a) => a.state === 'down').map((a) => ({ id: a.id, name: a.name, lastHeartbeatAt: a.lastHeartbeatAt })),
    runsLostLastHour: lost.rows[0]?.n ?? 0,
  };
}
