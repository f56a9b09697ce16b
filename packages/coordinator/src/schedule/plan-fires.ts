// What to do with one job's due fires: a pure function of the schedule, the fires, the job's
// live runs and `now`. The scheduler gathers the inputs and commits the result.
import { DEFAULT_CATCH_UP_CAP, decideOverlap, planCatchUp, type CompiledSchedule } from '@drover/shared';

/** A fire later than this when handled is "missed" and goes through the catch-up policy. */
export const MISSED_AFTER_MS = 10_000;

export interface FireInput {
  schedule: CompiledSchedule;
  /** Due fires in (last handled, now], ascending. */
  fires: readonly number[];
  /**
   * Due fires after `fires` that a later tick handles (more were due than one tick takes), up
   * to the catch-up cap: the missed ones among them count against `latest` and the cap.
   */
  laterFires?: readonly number[];
  now: number;
  /** The job's active runs (queued, offered, running) and how many wait behind them. */
  active: readonly string[];
  waiting: number;
  maxConcurrentRuns: number | null;
  /** The last pause of the job, to explain fires it cost. */
  pausedFrom: number | null;
  resumedAt: number | null;
  /** A `skip_next` mark: the first fire at or after `after` is skipped, with `reason`. */
  skipNext?: { after: number; reason: string } | null;
}

export type FireAction =
  | { fireAt: number; action: 'start' }
  | { fireAt: number; action: 'wait'; reason: string }
  | { fireAt: number; action: 'skip'; reason: string };

export interface FirePlan {
  actions: FireAction[];
  /** Active runs to cancel first (overlap `replace`). */
  cancel: string[];
  /** A fire came at or after the `skip_next` mark and was skipped: the mark is used up. */
  skippedNext: boolean;
}

const firedWhilePaused = (fireAt: number, i: FireInput): boolean =>
  i.pausedFrom !== null && i.resumedAt !== null && fireAt >= i.pausedFrom && fireAt <= i.resumedAt;

function missedBecause(fireAt: number, i: FireInput): string {
  if (firedWhilePaused(fireAt, i)) return 'the job was paused';
  return 'no coordinator was scheduling at the time';
}

/** Decides, fire by fire, what happens: start a run, wait behind the active one, or skip (with why). */
export function planFires(input: FireInput): FirePlan {
  // A fire that came while the job was paused is missed however recent it is: resuming
  // applies the catch-up policy to it, rather than running it as if it were on time.
  const isMissed = (f: number) => f <= input.now - MISSED_AFTER_MS || firedWhilePaused(f, input);
  const onTime = input.fires.filter((f) => !isMissed(f));
  const missed = input.fires.filter(isMissed);
  const laterMissed = (input.laterFires ?? []).filter(isMissed).length;
  const catchUp = planCatchUp(missed, input.schedule.catchUp, input.schedule.catchUpWindowMs, input.now, DEFAULT_CATCH_UP_CAP, laterMissed);
  const actions: FireAction[] = catchUp.skip.map((s) => ({
    fireAt: s.fireAt,
    action: 'skip',
    reason: `missed: ${missedBecause(s.fireAt, input)}; ${s.reason}`,
  }));
  let active = input.active.length;
  let waiting = input.waiting;
  const cancel: string[] = [];
  let startedHere: FireAction | undefined; // the run this plan started last, if any
  const toRun = [...catchUp.run, ...onTime].sort((a, b) => a - b);
  // The fire `skip_next` takes. If catch-up skips it anyway, that uses the mark up as well:
  // the next fire was skipped, as asked.
  const skipNext = input.skipNext;
  const skippedFire = skipNext ? input.fires.find((f) => f >= skipNext.after) : undefined;
  for (const fireAt of toRun) {
    if (skipNext && fireAt === skippedFire) {
      // Skipped before the overlap policy sees it: it never becomes active.
      actions.push({ fireAt, action: 'skip', reason: skipNext.reason });
      continue;
    }
    const decision = decideOverlap(input.schedule.overlap, active, waiting, input.maxConcurrentRuns);
    if (decision === 'start') {
      startedHere = { fireAt, action: 'start' };
      actions.push(startedHere);
      active++;
    } else if (decision === 'replace') {
      cancel.push(...input.active);
      // A run this plan would start and at once replace is not started at all.
      if (startedHere) Object.assign(startedHere, { action: 'skip', reason: 'replaced by a later fire (overlap policy "replace")' });
      startedHere = { fireAt, action: 'start' };
      actions.push(startedHere);
      active = 1;
    } else if (decision === 'wait') {
      actions.push({ fireAt, action: 'wait', reason: 'waiting for the previous run to end (overlap policy "queue")' });
      waiting++;
    } else {
      const why =
        input.schedule.overlap === 'allow' || input.schedule.overlap === 'replace'
          ? `the job already has ${active} active run${active === 1 ? '' : 's'} (maxConcurrentRuns ${input.maxConcurrentRuns ?? '∞'})`
          : input.schedule.overlap === 'queue'
            ? 'a run is already waiting for the previous one to end (overlap policy "queue" keeps at most one waiting)'
            : 'the previous run was still active (overlap policy "forbid")';
      actions.push({ fireAt, action: 'skip', reason: why });
    }
  }
  return { actions: actions.sort((a, b) => a.fireAt - b.fireAt), cancel: [...new Set(cancel)], skippedNext: skippedFire !== undefined };
}

/** Why a fire was skipped by a `skip_next` action (naming its run, when its record is still there). */
export function skipNextReason(runId: string | null): string {
  return runId ? `skipped by the skip_next action of run ${runId}` : 'skipped by a skip_next action';
}
