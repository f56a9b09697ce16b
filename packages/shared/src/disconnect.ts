// A job's disconnect rule: what its attempts do when their agent is cut off from every
// coordinator, and so when the coordinator may run them again elsewhere. Two deadlines are
// kept apart: an agent is `down` (no new offers, an alert) after a few missed heartbeats,
// while its running runs are re-dispatched only once the agent must have stopped them.
//
//   mode stop (default): the agent stops the attempt once it has heard no coordinator for
//     `after`; the coordinator re-dispatches once the agent has been silent (by PostgreSQL's
//     clock) for `after` + the job's kill grace + a safety margin, so the two never overlap.
//   mode keep: the attempt goes on running; the run is re-dispatched as soon as the agent is
//     down (fast failover for idempotent jobs, at the price of two executions at once).
import { Type, type Static } from '@sinclair/typebox';
import type { FieldError } from './errors.js';
import { parseDuration } from './units.js';

export const DISCONNECT_MODES = ['stop', 'keep'] as const;
export type DisconnectMode = (typeof DISCONNECT_MODES)[number];

/**
 * Long enough to ride out a 20 s outage of the whole bus (a NATS restart) with room to spare:
 * measured, an agent's longest silence was 23.4–25.9 s (the outage, NATS reconnect,
 * Moleculer re-discovery, the next heartbeat), so 30 s would leave 4 s of slack; see docs/running-jobs.md.
 */
export const DEFAULT_DISCONNECT_AFTER_MS = 45_000;
/** Shorter rules would stop attempts over a couple of late heartbeats. */
export const MIN_DISCONNECT_AFTER_MS = 5_000;
/** The margin never goes below this: delivery of the last heartbeat and its answer, sweeps. */
export const MIN_DISCONNECT_MARGIN_MS = 5_000;

const seconds = (ms: number): string => `${ms / 1000}s`;

export const DisconnectSchema = Type.Object(
  {
    mode: Type.Optional(
      Type.Union(
        DISCONNECT_MODES.map((m) => Type.Literal(m)),
        {
          description:
            '"stop" (default): a cut-off agent stops the attempt after `after` and the run is re-dispatched only once it must have stopped; "keep": the attempt keeps running and the run is re-dispatched as soon as the agent is down (two executions at once are possible).',
        },
      ),
    ),
    after: Type.Optional(
      Type.String({
        description: `With "stop": how long an agent that hears no coordinator keeps the attempt running; default "${seconds(DEFAULT_DISCONNECT_AFTER_MS)}", at least "${seconds(MIN_DISCONNECT_AFTER_MS)}".`,
      }),
    ),
  },
  { additionalProperties: false, description: 'What an attempt does when its agent is cut off from the coordinators.' },
);
export type DisconnectSpec = Static<typeof DisconnectSchema>;

/** A disconnect rule with its default applied and its duration in milliseconds; travels in each offer. */
export interface DisconnectRule {
  mode: DisconnectMode;
  afterMs: number;
}

/** The job's rule, defaults applied (the spec is assumed valid). */
export function compileDisconnect(spec: DisconnectSpec | undefined): DisconnectRule {
  const afterMs = spec?.after === undefined ? undefined : parseDuration(spec.after);
  return { mode: spec?.mode ?? 'stop', afterMs: afterMs ?? DEFAULT_DISCONNECT_AFTER_MS };
}

/** Problems with a `disconnect` block the schema cannot see, each naming its field under `prefix`. */
export function disconnectErrors(spec: DisconnectSpec, prefix: string): FieldError[] {
  if (spec.after === undefined) return [];
  const ms = parseDuration(spec.after);
  if (ms === undefined)
    return [{ field: `${prefix}.after`, message: `${JSON.stringify(spec.after)} is not a duration; use e.g. "45s", "2m"` }];
  if (ms < MIN_DISCONNECT_AFTER_MS)
    return [
      {
        field: `${prefix}.after`,
        message: `"${spec.after}" is shorter than ${seconds(MIN_DISCONNECT_AFTER_MS)}: attempts would be stopped over a few late heartbeats; use at least "${seconds(MIN_DISCONNECT_AFTER_MS)}", or mode "keep"`,
      },
    ];
  return [];
}

/** The safety margin on top of `after`: the agent's clock may run slow, the last answer may arrive late. */
export function disconnectMarginMs(afterMs: number): number {
  return Math.max(MIN_DISCONNECT_MARGIN_MS, Math.ceil(afterMs / 10));
}

/**
 * How long an agent must have been silent (since its last heartbeat, by the clock that recorded
 * it) before an attempt it runs under `rule` counts as stopped; null with `keep`, whose attempts
 * are given up as soon as the agent is down. The kill grace is in it because stopping takes up
 * to that long (SIGTERM, then SIGKILL).
 */
export function redispatchAfterSilenceMs(rule: DisconnectRule, killGraceMs: number): number | null {
  if (rule.mode === 'keep') return null;
  return rule.afterMs + killGraceMs + disconnectMarginMs(rule.afterMs);
}
