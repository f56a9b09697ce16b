// Agents: registration, heartbeats, and the fleet view the dispatcher starts from.
import { sql } from 'kysely';
import { reconcileHeldRuns, type AgentUsage, type Capacity, type HeldRun, type RegisterRequest } from '@drover/shared';
import type { Db } from './db.js';

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
}

type Row = {
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
};

function toAgent(r: Row): Agent {
  return {
    id: r.id,
    nodeId: r.node_id,
    name: r.name,
    version: r.version,
    protocol: r.protocol,
    state: r.state,
    attributes: r.attributes as Agent['attributes'],
    labels: r.labels as Agent['labels'],
    executors: r.executors,
    total: r.total as Capacity,
    free: r.free as Capacity,
    usage: r.usage as AgentUsage | null,
    registeredAt: r.registered_at.toISOString(),
    lastHeartbeatAt: r.last_heartbeat_at.toISOString(),
    drainDeadline: r.drain_deadline ? new Date(r.drain_deadline).toISOString() : null,
  };
}

/** Records a (re)registration; a known agent keeps its id, becomes `ready` again and gets a new `registered_at`. */
export async function upsertAgent(db: Db, req: RegisterRequest): Promise<Agent> {
  const values = {
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
        // An operator's cordon or drain outlives the agent's reconnects and restarts.
        state: sql<string>`CASE WHEN agents.state IN ('cordoned', 'draining') THEN agents.state ELSE 'ready' END`,
        registered_at: sql<Date>`now()`,
        last_heartbeat_at: sql<Date>`now()`,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
  return toAgent(row as Row);
}

/** Stores a heartbeat; returns false when the agent is unknown (it should register again). */
export async function recordHeartbeat(db: Db, agentId: string, nodeId: string, free: Capacity, usage: AgentUsage): Promise<boolean> {
  const r = await db
    .updateTable('agents')
    .set({
      node_id: nodeId,
      free: JSON.stringify(free),
      usage: JSON.stringify(usage),
      last_heartbeat_at: sql<Date>`now()`,
      // A heartbeat brings a `down` agent back; other states (draining, cordoned) are the operator's.
      state: sql<string>`CASE WHEN state = 'down' THEN 'ready' ELSE state END`,
    })
    .where('id', '=', agentId)
    .where('state', '!=', 'gone')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Agents, optionally only those in the given states. */
export async function listAgents(db: Db, states?: string[]): Promise<Agent[]> {
  let q = db.selectFrom('agents').selectAll();
  if (states && states.length > 0) q = q.where('state', 'in', states);
  return (await q.orderBy('name').orderBy('id').execute()).map((r) => toAgent(r as Row));
}

/** One agent by id. */
export async function getAgent(db: Db, id: string): Promise<Agent | undefined> {
  const row = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toAgent(row as Row);
}

/** Marks agents whose last heartbeat is older than the cut-off `down`; returns their ids. */
export async function markSilentAgentsDown(db: Db, silentForMs: number): Promise<string[]> {
  const rows = await db
    .updateTable('agents')
    .set({ state: 'down' })
    .where('state', 'in', ['ready', 'draining', 'cordoned'])
    .where('last_heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${silentForMs / 1000})`)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Of the runs an agent says it holds, those it must stop (see reconcileHeldRuns); extends the deadline of offers it holds. */
export async function runsToStop(db: Db, agentId: string, held: readonly HeldRun[]): Promise<HeldRun[]> {
  if (held.length === 0) return [];
  const rows = await db
    .selectFrom('runs')
    .select(['id', 'attempt_token', 'agent_id', 'state'])
    .where(
      'id',
      'in',
      held.map((h) => h.runId),
    )
    .execute();
  const { stop, confirm } = reconcileHeldRuns(
    agentId,
    held,
    rows.map((r) => ({ runId: r.id, token: Number(r.attempt_token), agentId: r.agent_id, state: r.state })),
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
    .set({ state: to, drain_deadline: action === 'drain' && deadline !== null ? new Date(deadline) : null })
    .where('id', '=', id)
    .where('state', 'in', [...from])
    .returningAll()
    .executeTakeFirst();
  if (row) return toAgent(row as Row);
  const current = await db.selectFrom('agents').select('state').where('id', '=', id).executeTakeFirst();
  return current ? { refused: current.state } : undefined;
}
