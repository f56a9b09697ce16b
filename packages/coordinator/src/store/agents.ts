// Agents: registration, heartbeats, and the fleet view the dispatcher starts from.
import { sql } from 'kysely';
import { reconcileHeldRuns, type AgentUsage, type Capacity, type HeldRun, type RegisterRequest } from '@drover/shared';
import type { Db } from './db.js';
import { GRACE_MS, MISSED_HEARTBEATS } from '../dispatch/liveness.js';

/** An agent as the API shows it. */
export interface Agent {
  id: string;
  nodeId: string;
  name: string;
  version: string;
  protocol: number;
  state: string;
  attributes: Record<string, string | number>;
  labels: Record<string, string>;
  executors: string[];
  total: Capacity;
  free: Capacity;
  usage: AgentUsage | null;
  registeredAt: string;
  lastHeartbeatAt: string;
  /** While draining with a deadline: when the runs still on the agent are taken back. */
  drainDeadline: string | null;
  /** The job namespaces it is offered runs of; null: any. */
  namespaces: string[] | null;
  /** When it was revoked (it must join again with a new join token); null when it is not. */
  revokedAt: string | null;
}

/** An agents row as selected with selectAll(). */
export type AgentRow = {
  id: string;
  node_id: string;
  name: string;
  version: string;
  protocol: number;
  state: string;
  attributes: unknown;
  labels: unknown;
  executors: string[];
  total: unknown;
  free: unknown;
  usage: unknown;
  registered_at: Date;
  drain_deadline?: Date | null;
  last_heartbeat_at: Date;
  namespaces?: string[] | null;
  revoked_at?: Date | null;
};

/** Maps an agents row to the API's shape. */
export function toAgent(row: AgentRow): Agent {
  return {
    id: row.id,
    nodeId: row.node_id,
    name: row.name,
    version: row.version,
    protocol: row.protocol,
    state: row.state,
    attributes: row.attributes as Agent['attributes'],
    labels: row.labels as Agent['labels'],
    executors: row.executors,
    total: row.total as Capacity,
    free: row.free as Capacity,
    usage: row.usage as AgentUsage | null,
    registeredAt: row.registered_at.toISOString(),
    lastHeartbeatAt: row.last_heartbeat_at.toISOString(),
    drainDeadline: row.drain_deadline ? new Date(row.drain_deadline).toISOString() : null,
    namespaces: row.namespaces ?? null,
    revokedAt: row.revoked_at ? new Date(row.revoked_at).toISOString() : null,
  };
}

/** Records a (re)registration; a known agent keeps its id, returns to the state the operator last set (`ready` unless cordoned or drained) and gets a new `registered_at`. */
export async function upsertAgent(db: Db, req: RegisterRequest, heartbeatIntervalMs: number | null = null): Promise<Agent> {
  const values = {
    heartbeat_interval_ms: heartbeatIntervalMs,
    id: req.agentId,
    node_id: req.nodeId,
    name: req.name,
    version: req.version,
    protocol: req.protocol,
    state: 'ready',
    attributes: JSON.stringify(req.attributes),
    labels: JSON.stringify(req.labels),
    executors: req.executors,
    total: JSON.stringify(req.total),
    free: JSON.stringify(req.free),
  };
  const row = await db
    .insertInto('agents')
    .values(values)
    .onConflict((oc) =>
      // A new registered_at marks a new incarnation: the dispatcher then trusts these figures
      // over capacity reports numbered by the agent's previous process.
      oc.column('id').doUpdateSet({
        ...values,
        // An operator's cordon or drain outlives the agent's reconnects and restarts, and its being down;
        // an agent's own drain (SIGTERM) ends with the process that asked for it.
        state: sql<string>`agents.operator_state`,
        registered_at: sql<Date>`now()`,
        last_heartbeat_at: sql<Date>`now()`,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
  return toAgent(row as AgentRow);
}

/**
 * Whether the agent registered again after `sentAt` (epoch ms, cluster clock): a registration
 * sent before then, answered late by a slow coordinator after the agent asked another, is stale.
 */
export async function registeredSince(db: Db, agentId: string, sentAt: number): Promise<boolean> {
  const row = await db
    .selectFrom('agents')
    .select(sql<boolean>`registered_at > to_timestamp(${sentAt}::float8 / 1000)`.as('newer'))
    .where('id', '=', agentId)
    .executeTakeFirst();
  return row?.newer === true;
}

/** Stores a heartbeat; returns false when the agent is unknown (it should register again). */
export async function recordHeartbeat(
  db: Db,
  agentId: string,
  nodeId: string,
  free: Capacity,
  usage: AgentUsage,
  draining = false,
  heartbeatIntervalMs: number | null = null,
): Promise<{ known: boolean; revived: boolean; startedDraining: boolean; name?: string }> {
  // One statement: the agent's current figures, and this minute's average in its history.
  const res = await sql<{ id: string; name: string; was: string; state: string }>`
    WITH old AS (SELECT state FROM agents WHERE id = ${agentId}), upd AS (
      UPDATE agents SET node_id = ${nodeId}, free = ${JSON.stringify(free)}::jsonb, usage = ${JSON.stringify(usage)}::jsonb,
             last_heartbeat_at = now(),
             -- A longer interval (the fleet grew) applies at once; a shorter one waits for the next
             -- registration, so an agent is never judged by beats faster than it was told to send.
             heartbeat_interval_ms = greatest(heartbeat_interval_ms, ${heartbeatIntervalMs}::int),
             -- A heartbeat brings a down agent back to what the operator last set; other states are the operator's.
             state = CASE WHEN ${draining} AND state IN ('ready', 'cordoned', 'down', 'left') THEN 'draining'
                          WHEN state IN ('down', 'left') THEN operator_state ELSE state END,
             down_since = NULL
       WHERE id = ${agentId} AND state <> 'gone'
      RETURNING id, name, state
    ), metric AS (
      INSERT INTO agent_metrics AS m (agent_id, minute, samples, cpu_percent, load1, memory_used_bytes, slots_used)
      SELECT id, date_trunc('minute', now()), 1, ${usage.cpuPercent}, ${usage.load1}, ${Math.round(usage.memoryUsedBytes)}, ${usage.slotsUsed} FROM upd
      ON CONFLICT (agent_id, minute) DO UPDATE SET
        samples = m.samples + 1,
        cpu_percent = (m.cpu_percent * m.samples + EXCLUDED.cpu_percent) / (m.samples + 1),
        load1 = (m.load1 * m.samples + EXCLUDED.load1) / (m.samples + 1),
        memory_used_bytes = (m.memory_used_bytes * m.samples + EXCLUDED.memory_used_bytes) / (m.samples + 1),
        slots_used = (m.slots_used * m.samples + EXCLUDED.slots_used) / (m.samples + 1)
    )
    SELECT upd.id, upd.name, upd.state, old.state AS was FROM upd, old`.execute(db);
  const row = res.rows[0];
  if (!row) return { known: false, revived: false, startedDraining: false };
  return { known: true, revived: row.was === 'down', startedDraining: row.state === 'draining' && row.was !== 'draining', name: row.name };
}

/**
 * Records a clean stop (the agent's `leaving` beat): `left`, a state no alert or run recovery
 * looks at. Refused (false) while runs are still offered to or running on it by the records: it
 * is then found `down` by its silence, and those runs are settled as for any down agent.
 * `down_since` counts toward retirement (`gone`) as for a down agent.
 */
export async function markAgentLeft(db: Db, agentId: string, nodeId: string): Promise<boolean> {
  const res = await sql<{ id: string }>`
    UPDATE agents a SET state = 'left', down_since = now(), last_heartbeat_at = now()
     WHERE a.id = ${agentId} AND a.node_id = ${nodeId} AND a.state NOT IN ('left', 'gone')
       AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.agent_id = a.id AND r.state IN ('offered', 'running'))
    RETURNING a.id`.execute(db);
  return res.rows.length > 0;
}

/** Agents, optionally only those in the given states. */
export async function listAgents(db: Db, states?: string[]): Promise<Agent[]> {
  let q = db.selectFrom('agents').selectAll();
  if (states && states.length > 0) q = q.where('state', 'in', states);
  return (await q.orderBy('name').orderBy('id').execute()).map((r) => toAgent(r as AgentRow));
}

/** An agent's state, or undefined when it never registered. */
export async function agentState(db: Db, id: string): Promise<string | undefined> {
  return (await db.selectFrom('agents').select('state').where('id', '=', id).executeTakeFirst())?.state;
}

/** One agent by id. */
export async function getAgent(db: Db, id: string): Promise<Agent | undefined> {
  const row = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toAgent(row as AgentRow);
}

/**
 * Marks agents whose last heartbeat is older than the cut-off `down`; returns their ids. An agent
 * given a longer heartbeat interval at registration (the fleet was larger then) is allowed as
 * many missed heartbeats at that interval, so a shrinking fleet does not mark it down between beats.
 */
export async function markSilentAgentsDown(db: Db, silentForMs: number): Promise<string[]> {
  const rows = await db
    .updateTable('agents')
    .set({ state: 'down', down_since: sql<Date>`now()` })
    .where('state', 'in', ['ready', 'draining', 'cordoned'])
    .where(
      'last_heartbeat_at',
      '<',
      sql<Date>`now() - make_interval(secs => greatest(${silentForMs}::float8, coalesce(heartbeat_interval_ms, 0) * ${MISSED_HEARTBEATS} + ${GRACE_MS}) / 1000.0)`,
    )
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Of the runs an agent says it holds, those it must stop (see reconcileHeldRuns); extends the deadline of offers it holds. */
export async function runsToStop(db: Db, agentId: string, held: readonly HeldRun[]): Promise<HeldRun[]> {
  if (held.length === 0) return [];
  const rows = await db
    .selectFrom('runs')
    .select(['id', 'attempt_token', 'agent_id', 'state', 'cancel_requested_at'])
    .where(
      'id',
      'in',
      held.map((h) => h.runId),
    )
    .execute();
  const { stop, confirm } = reconcileHeldRuns(
    agentId,
    held,
    rows.map((r) => ({
      runId: r.id,
      token: Number(r.attempt_token),
      agentId: r.agent_id,
      state: r.state,
      cancelRequested: r.cancel_requested_at !== null,
    })),
  );
  // The agent holds these but its `started` report has not arrived (e.g. its outbox is backed
  // up): it owns them, so push their offer deadline on, and the reconciler leaves them be.
  if (confirm.length > 0) {
    await db
      .updateTable('runs')
      .set({ offered_at: sql<Date>`now()` })
      .where('id', 'in', confirm)
      .where('state', '=', 'offered')
      .where('agent_id', '=', agentId)
      .execute();
  }
  return stop;
}

/** Operator transitions: which states each action may start from, and where it leads. */
const OPERATOR_ACTIONS = {
  cordon: { from: ['ready', 'draining'], to: 'cordoned' },
  uncordon: { from: ['cordoned', 'draining'], to: 'ready' },
  drain: { from: ['ready', 'cordoned', 'draining'], to: 'draining' },
} as const;
export type OperatorAction = keyof typeof OPERATOR_ACTIONS;

/**
 * Cordons, uncordons or drains an agent (drain with an optional deadline, epoch ms). Returns the
 * agent, or `{ refused }` naming its state when the action does not apply to it.
 */
export async function setAgentState(
  db: Db,
  id: string,
  action: OperatorAction,
  deadline: number | null = null,
): Promise<Agent | { refused: string } | undefined> {
  const { from, to } = OPERATOR_ACTIONS[action];
  const row = await db
    .updateTable('agents')
    .set({ state: to, operator_state: to, drain_deadline: action === 'drain' && deadline !== null ? new Date(deadline) : null })
    .where('id', '=', id)
    .where('state', 'in', [...from])
    .returningAll()
    .executeTakeFirst();
  if (row) return toAgent(row as AgentRow);
  const current = await db.selectFrom('agents').select('state').where('id', '=', id).executeTakeFirst();
  return current ? { refused: current.state } : undefined;
}

/** Agents down (or left) for longer than the retention become `gone`; returns their ids. */
export async function retireDownAgents(db: Db, downForMs: number): Promise<string[]> {
  const rows = await db
    .updateTable('agents')
    .set({ state: 'gone' })
    .where('state', 'in', ['down', 'left'])
    .where('down_since', '<', sql<Date>`now() - make_interval(secs => ${downForMs / 1000})`)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Forgets heartbeat history older than the retention. */
export async function pruneAgentMetrics(db: Db, keepMs: number): Promise<void> {
  await db
    .deleteFrom('agent_metrics')
    .where('minute', '<', sql<Date>`now() - make_interval(secs => ${keepMs / 1000})`)
    .execute();
}

export interface AgentMetricPoint {
  at: string;
  samples: number;
  cpuPercent: number;
  load1: number;
  memoryUsedBytes: number;
  slotsUsed: number;
}

/** An agent's per-minute history since the given time, oldest first. */
export async function agentMetrics(db: Db, agentId: string, since: number): Promise<AgentMetricPoint[]> {
  const rows = await db
    .selectFrom('agent_metrics')
    .selectAll()
    .where('agent_id', '=', agentId)
    .where('minute', '>=', new Date(since))
    .orderBy('minute')
    .limit(1440)
    .execute();
  return rows.map((r) => ({
    at: new Date(r.minute).toISOString(),
    samples: r.samples,
    cpuPercent: Number(Number(r.cpu_percent).toFixed(1)),
    load1: Number(Number(r.load1).toFixed(2)),
    memoryUsedBytes: Number(r.memory_used_bytes),
    slotsUsed: Number(Number(r.slots_used).toFixed(2)),
  }));
}

/** How many agents are up (not down, left or gone): the fleet size liveness scales with. */
export async function countLiveAgents(db: Db): Promise<number> {
  const r = await db
    .selectFrom('agents')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', 'not in', ['down', 'left', 'gone'])
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** The node (broker) id of each of these agents, by agent id; unknown ids are left out. */
export async function nodesOfAgents(db: Db, agentIds: readonly string[]): Promise<Map<string, string>> {
  const nodes = await db
    .selectFrom('agents')
    .select(['id', 'node_id'])
    .where('id', 'in', [...agentIds])
    .execute();
  return new Map(nodes.map((n) => [n.id, n.node_id]));
}
