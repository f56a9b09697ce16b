// What to do with fires that were missed, and with a fire that comes while earlier runs of
// the same job are still active. Pure decisions; the scheduler records and carries them out.

export const CATCH_UP_POLICIES = ['skip', 'latest', 'all'] as const;
/** `skip`: run none of the missed fires; `latest`: run the most recent; `all`: run each (bounded). */
export type CatchUpPolicy = (typeof CATCH_UP_POLICIES)[number];

export const OVERLAP_POLICIES = ['allow', 'forbid', 'replace', 'queue'] as const;
/** What a fire does while a run of the same job is active. */
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** The hard cap on missed fires one catch-up runs, whatever the policy and window. */
export const DEFAULT_CATCH_UP_CAP = 100;

/** A missed fire that will not run, and why, to be recorded as a skipped run. */
export interface SkippedFire {
  fireAt: number;
  reason: string;
}

/** The outcome of a catch-up: fires to run now (ascending) and fires to record as skipped. */
export interface CatchUpPlan {
  run: number[];
  skip: SkippedFire[];
}

const UNITS: Array<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/** A duration in the form job definitions use: 3_600_000 → "1h", 5_400_000 → "1h30m". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/**
 * Decides which missed fires (all at or before `now`) run now and which are recorded as
 * skipped. Fires older than the window never run; `all` runs at most `cap`, the most recent.
 * Every input fire appears exactly once, in `run` or in `skip`. `newerMissed` counts missed
 * fires after these ones that are planned later (a catch-up longer than one tick): they are
 * more recent, so they take their places among the fires that run first.
 */
export function planCatchUp(
  missedFires: readonly number[],
  policy: CatchUpPolicy,
  windowMs: number,
  now: number,
  cap = DEFAULT_CATCH_UP_CAP,
  newerMissed = 0,
): CatchUpPlan {
  const fires = [...missedFires].sort((a, b) => a - b);
  const skip: SkippedFire[] = [];
  const eligible: number[] = [];
  const oldest = now - Math.max(0, windowMs);
  for (const fireAt of fires) {
    if (fireAt > now) skip.push({ fireAt, reason: 'not a missed fire: it is not due yet' });
    else if (fireAt < oldest) skip.push({ fireAt, reason: `missed by more than the catch-up window of ${formatDuration(windowMs)}` });
    else if (policy === 'skip') skip.push({ fireAt, reason: 'catch-up policy "skip" records missed fires without running them' });
    else eligible.push(fireAt);
  }
  const limit = policy === 'latest' ? 1 : Math.max(0, Math.floor(cap));
  const keep = Math.max(0, eligible.length - Math.max(0, limit - newerMissed));
  const run = eligible.slice(keep);
  for (const fireAt of eligible.slice(0, keep)) {
    skip.push({
      fireAt,
      reason:
        policy === 'latest'
          ? 'catch-up policy "latest" runs only the most recent missed fire'
          : `catch-up cap of ${limit} reached: only the ${limit} most recent missed fires run`,
    });
  }
  skip.sort((a, b) => a.fireAt - b.fireAt);
  return { run, skip };
}

/** What to do with a new fire: start a run, record it as skipped, cancel the active run and start, or wait for it to end. */
export type OverlapDecision = 'start' | 'skip' | 'replace' | 'wait';

/**
 * Decides what a new fire does given the job's active runs (queued, offered or running) and
 * runs waiting to start after them. `maxConcurrentRuns` (null: unbounded) bounds `allow`;
 * the other policies never have more than one run active. `queue` keeps at most one waiting.
 */
export function decideOverlap(policy: OverlapPolicy, active: number, waiting: number, maxConcurrentRuns: number | null): OverlapDecision {
  const limit = maxConcurrentRuns === null ? Number.POSITIVE_INFINITY : Math.max(1, maxConcurrentRuns);
  switch (policy) {
    case 'allow':
      return active < limit ? 'start' : 'skip';
    case 'forbid':
      return active <= 0 ? 'start' : 'skip';
    case 'replace':
      return active <= 0 ? 'start' : 'replace';
    case 'queue':
      if (waiting > 0) return 'skip';
      return active <= 0 ? 'start' : 'wait';
  }
}
