// How often agents heartbeat and when one counts as down, scaled with the fleet so that the
// coordinators' heartbeat load stays bounded: at most HEARTBEATS_PER_SECOND across the fleet.
// Below 1,000 agents the configured interval (default 5 s) applies; above, it grows with the
// fleet (5,000 agents → 25 s). An agent is down after 3 missed heartbeats plus a grace.

export const HEARTBEATS_PER_SECOND = 200;
export const MISSED_HEARTBEATS = 3;
export const GRACE_MS = 2000;

/** The heartbeat interval to give agents when the fleet has `agents` members. */
export function heartbeatIntervalFor(agents: number, configuredMs: number): number {
  return Math.max(configuredMs, Math.ceil((agents / HEARTBEATS_PER_SECOND) * 1000));
}

/** How long an agent may be silent before it is down, for that interval. */
export function downAfterFor(agents: number, configuredIntervalMs: number, configuredDownAfterMs: number): number {
  const interval = heartbeatIntervalFor(agents, configuredIntervalMs);
  return Math.max(configuredDownAfterMs, interval * MISSED_HEARTBEATS + GRACE_MS);
}
