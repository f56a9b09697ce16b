// What one coordinator tells every coordinator (itself included): nudges that make the
// dispatcher, the scheduler and the caches look again. Each is backed by a sweep, so one lost
// while the bus is away delays work but loses none; sending never throws. Received by
// services/dispatch.service.ts and services/fleet.service.ts; sent over Moleculer by
// transport/moleculer-signals.ts.
export interface Signals {
  /** Runs were queued: the leader's dispatcher should look at the queue now. */
  queueReady(): void;
  /** Schedules or delayed runs changed: the leader's scheduler should plan again. */
  scheduleChanged(): void;
  /** A job's definition changed or it was deleted: drop it from every cache. */
  jobChanged(jobId: string): void;
  /** An agent's membership or state changed: the leader refreshes its view of the fleet. */
  fleetChanged(agentId: string): void;
  /** An agent was revoked: every coordinator drops its cached key. */
  agentRevoked(agentId: string): void;
  /** Whether this coordinator is connected to the bus the signals travel on. */
  connected(): boolean;
}
