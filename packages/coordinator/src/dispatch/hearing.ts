// Fair liveness (DESIGN guarantee 4): an agent is judged only for silence this coordinator could
// have heard. It could not while its own bus or store was away (a heartbeat then is neither
// received nor recorded), nor before it led (a beat sent to a leader that died was lost with it).
// One figure for all three: how long every one of them has been up.

/** What a coordinator hears agents through: each says how long it has been up (ms). */
export interface HearingSources {
  bus?: { upForMs(): number } | undefined;
  store?: { upForMs(): number } | undefined;
  /** How long this coordinator has led (ms). */
  ledForMs: () => number;
}

/** How long this coordinator could have heard every agent (ms): the shortest up-time of its sources. */
export function canHearForMs(sources: HearingSources): number {
  return Math.min(
    sources.bus?.upForMs() ?? Number.POSITIVE_INFINITY,
    sources.store?.upForMs() ?? Number.POSITIVE_INFINITY,
    sources.ledForMs(),
  );
}
