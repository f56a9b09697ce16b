// Reconcile: what an agent that (re)connects or heartbeats holds, against what the
// coordinator's records say. Pure, so the rule is one table of cases.
import type { HeldRun } from './protocol.js';

/** What the coordinator's records say about a run an agent claims to hold. */
export interface RunRecord {
  runId: string;
  token: number;
  agentId: string | null;
  state: string;
  /** Someone asked to cancel the run: the agent is told to stop it on every heartbeat until it has. */
  cancelRequested?: boolean;
}

export interface ReconcileDecision {
  /** Attempts the agent must stop: re-dispatched elsewhere, ended, or unknown. */
  stop: HeldRun[];
  /** Runs still `offered` to this agent that it does hold: their offer deadline moves on. */
  confirm: string[];
}

/**
 * The reconcile rule. An agent keeps an attempt only if the records assign that very attempt
 * (same token) to it, the run is live (`offered` or `running`) and nobody asked to cancel it;
 * everything else it holds is stopped (so a stop request lost on the way is sent again). Held runs the records show as `offered` are confirmed (the agent took the offer,
 * even if its start report is still on the way).
 */
export function reconcileHeldRuns(agentId: string, held: readonly HeldRun[], records: readonly RunRecord[]): ReconcileDecision {
  const byId = new Map(records.map((r) => [r.runId, r]));
  const stop: HeldRun[] = [];
  const confirm: string[] = [];
  for (const h of held) {
    const r = byId.get(h.runId);
    const ours =
      r !== undefined &&
      r.agentId === agentId &&
      r.token === h.token &&
      (r.state === 'offered' || r.state === 'running') &&
      r.cancelRequested !== true;
    if (!ours) stop.push(h);
    else if (r.state === 'offered') confirm.push(h.runId);
  }
  return { stop, confirm };
}

/**
 * Attempts the records say an agent is running but that it does not hold: it restarted or lost
 * them. Only attempts started before `heldAsOf` count, since a heartbeat's list was taken then
 * and a run started just after it is simply not in it yet.
 */
export function unheldAttempts(
  held: readonly HeldRun[],
  running: ReadonlyArray<{ runId: string; token: number; startedAt: number }>,
  heldAsOf: number,
): HeldRun[] {
  const holds = new Set(held.map((h) => `${h.runId}:${h.token}`));
  return running
    .filter((r) => r.startedAt < heldAsOf && !holds.has(`${r.runId}:${r.token}`))
    .map((r) => ({ runId: r.runId, token: r.token }));
}
