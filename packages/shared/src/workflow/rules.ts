// When a workflow step runs: its `when` and `trigger` against its upstream steps' outcomes.
//
// A step decides once, when every upstream step is terminal (never earlier, so a step never
// starts beside a still-running upstream). A step without `dependsOn` starts at once.
// Each upstream counts, from the deciding step's point of view, as one of:
//   wanted   — it ended with the outcome `when` asks for: `success` (default) → succeeded,
//              `failure` → failed, `always` → succeeded or failed;
//   unwanted — it ran and ended with the other outcome (never, under `when: always`);
//   absent   — it has no outcome: it was skipped or cancelled.
// `trigger` then says how many upstreams must count which way (Airflow's rules, with
// "success" read as "wanted"; for `when: failure`, all_success is Airflow's all_failed):
//   all_success (default) — every upstream wanted;
//   any_success           — at least one upstream wanted;
//   none_failed           — no upstream unwanted (skipped/cancelled ones are fine; all absent runs);
//   all_done              — always, once all are terminal (whatever the outcomes; `when` is moot);
//   any_done              — at least one upstream ran (succeeded or failed).
// Otherwise the step ends `skipped`, with a reason naming an upstream and the rule, so skipping
// propagates: a skipped step is an absent upstream for the steps after it. A skip's cause is
// `failure` when an upstream failed, was cancelled or was itself skipped by failure (`retry`
// re-runs those), else `condition` (the workflow went the other way, e.g. `cleanup` when
// `load` succeeded). Unreachable rules, refused by validation: a step without `dependsOn`
// with `when: failure` (no upstream can fail) or `trigger: any_success|any_done` (none to
// count); and an explicit `when: success|failure` with `all_done|any_done`, which ignore it.
// With upstreams, every other combination can fire for some upstream outcomes, since every
// step that can start can end either way. The run's outcome: `cancelled` if any step was
// cancelled, else `failed` if any failed (even when a `when: failure` branch then succeeded),
// else `succeeded` (every step succeeded or was skipped by its condition).
import type { StepTrigger, StepWhen, WorkflowStep } from './definition.js';

export type StepStateName = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';
/** Why a skipped step was skipped: `failure` upstream (retried with it) or its `condition`. */
export type SkipCause = 'condition' | 'failure';
/** The state of one step of a workflow run. */
export type StepState = { state: Exclude<StepStateName, 'skipped'> } | { state: 'skipped'; reason: string; cause: SkipCause };

/** Terminal step states: nothing more will happen to the step in this workflow run. */
export function isStepTerminal(state: StepStateName): boolean {
  return state !== 'pending' && state !== 'running';
}

/** A step's decision once its upstreams are terminal. */
export type StepDecision = { run: true } | { run: false; reason: string; cause: SkipCause };

type Count = 'wanted' | 'unwanted' | 'absent';

function countAs(upstream: StepState, when: StepWhen): Count {
  if (upstream.state === 'succeeded') return when === 'failure' ? 'unwanted' : 'wanted';
  if (upstream.state === 'failed') return when === 'success' ? 'unwanted' : 'wanted';
  return 'absent';
}

function outcomeText(name: string, s: StepState): string {
  return `"${name}" ${s.state === 'skipped' || s.state === 'cancelled' ? 'was ' : ''}${s.state}`;
}

/**
 * Whether `step` runs, given its upstream steps' states (by name), or `undefined` while any
 * upstream is not terminal yet. A step without upstreams runs.
 */
export function decideStep(step: WorkflowStep, upstream: ReadonlyMap<string, StepState>): StepDecision | undefined {
  const names = step.dependsOn ?? [];
  const states: Array<[string, StepState]> = [];
  for (const name of names) {
    const s = upstream.get(name);
    if (!s || !isStepTerminal(s.state)) return undefined;
    states.push([name, s]);
  }
  if (states.length === 0) return { run: true };
  const when: StepWhen = step.when ?? 'success';
  const trigger: StepTrigger = step.trigger ?? 'all_success';
  const counted = states.map(([name, s]) => ({ name, s, as: countAs(s, when) }));
  const rule = `"${step.name}" runs with when: ${when}, trigger: ${trigger}`;
  const byFailure = counted.some(
    ({ s }) => s.state === 'failed' || s.state === 'cancelled' || (s.state === 'skipped' && s.cause === 'failure'),
  );
  const skip = (why: string): StepDecision => ({ run: false, reason: `${why}; ${rule}`, cause: byFailure ? 'failure' : 'condition' });
  const all = counted.map(({ name, s }) => outcomeText(name, s)).join(', ');
  switch (trigger) {
    case 'all_success': {
      const miss = counted.find((c) => c.as !== 'wanted');
      return miss ? skip(outcomeText(miss.name, miss.s)) : { run: true };
    }
    case 'any_success':
      return counted.some((c) => c.as === 'wanted') ? { run: true } : skip(`no upstream ended ${wantedWord(when)} (${all})`);
    case 'none_failed': {
      const bad = counted.find((c) => c.as === 'unwanted');
      return bad ? skip(outcomeText(bad.name, bad.s)) : { run: true };
    }
    case 'all_done':
      return { run: true };
    case 'any_done':
      return counted.some((c) => c.as !== 'absent') ? { run: true } : skip(`no upstream ran (${all})`);
  }
}

function wantedWord(when: StepWhen): string {
  return when === 'success' ? 'succeeded' : when === 'failure' ? 'failed' : 'succeeded or failed';
}
