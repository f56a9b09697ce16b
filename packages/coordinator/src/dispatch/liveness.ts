// How often agents heartbeat and when one counts as down, scaled with the fleet so that the
// coordinators' heartbeat load stays bounded: at most HEARTBEATS_PER_SECOND across the fleet.
// Below 400 agents the configured interval (default 2 s) applies; above, it grows with the
// fleet (1,000 agents → 5 s, 5,000 → 25 s). An agent is down after 3 missed heartbeats plus a
// grace: 7 s by default, so with the 2 s reconcile sweep it is declared down within 9 s.
//
// Down is only about fleet health (no new offers, an alert): the runs a down agent was running
// are re-dispatched by their job's disconnect rule (see shared disconnect.ts and lose-runs.ts),
// which is why this deadline can be short without risking two executions at once.

export const HEARTBEATS_PER_SECOND = 200;
export const MISSED_HEARTBEATS = 3;
export const GRACE_MS = 1000;

/** The heartbeat interval to give agents when the fleet has `agents` members. */
export function heartbeatIntervalFor(agents: number, configuredMs: number): number {
  return Math.max(configuredMs, Math.ceil((agents / HEARTBEATS_PER_SECOND) * 1000));
}

/** How long an agent may be silent before it is down, for that interval. */
export function downAfterFor(agents: number, configuredIntervalMs: number, configuredDownAfterMs: number): number {
  const interval = heartbeatIntervalFor(agents, configuredIntervalMs);
  return Math.max(configuredDownAfterMs, interval * MISSED_HEARTBEATS + GRACE_MS);
}
