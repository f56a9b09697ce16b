// Properties of advanceWorkflow over random DAGs whose started steps end in random outcomes, in
// a random order: the run always ends with every step terminal, no step starts before all its
// upstreams are terminal, and the final states and outcome equal a separately written
// reference evaluator (a memoised recursion over the graph, counting upstream outcomes).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { advanceWorkflow } from './advance.js';
import { STEP_TRIGGERS, STEP_WHEN, type WorkflowStep } from './definition.js';
import { isStepTerminal, type StepState } from './rules.js';

type End = 'succeeded' | 'failed' | 'cancelled';

const dagArb = fc
  .array(
    fc.record({
      ups: fc.array(fc.nat(), { maxLength: 4 }),
      when: fc.constantFrom(...STEP_WHEN),
      trigger: fc.constantFrom(...STEP_TRIGGERS),
      end: fc.constantFrom<End>('succeeded', 'succeeded', 'failed', 'failed', 'cancelled'),
    }),
    { minLength: 1, maxLength: 14 },
  )
  .map((specs) => {
    // Step i may only depend on steps before it, so the graph is acyclic; listing the steps
    // reversed checks that advanceWorkflow does not lean on the order they are written in.
    const steps: WorkflowStep[] = specs.map((s, i) => {
      const dependsOn = i === 0 ? [] : [...new Set(s.ups.map((u) => `s${u % i}`))];
      return dependsOn.length === 0
        ? { name: `s${i}`, job: 'j' }
        : { name: `s${i}`, job: 'j', dependsOn, when: s.when, trigger: s.trigger };
    });
    const ends = Object.fromEntries(specs.map((s, i) => [`s${i}`, s.end]));
    return { steps: steps.reverse(), ends };
  });

/** Final state of every step and the run's outcome, straight from the rules' definitions. */
function reference(steps: WorkflowStep[], ends: Record<string, End>) {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const final = new Map<string, string>();
  const finalOf = (name: string): string => {
    const known = final.get(name);
    if (known) return known;
    const step = byName.get(name)!;
    const ups = (step.dependsOn ?? []).map(finalOf);
    const n = ups.length;
    const nS = ups.filter((u) => u === 'succeeded').length;
    const nF = ups.filter((u) => u === 'failed').length;
    const when = step.when ?? 'success';
    const wanted = when === 'success' ? nS : when === 'failure' ? nF : nS + nF;
    const unwanted = nS + nF - wanted;
    const runs =
      n === 0 ||
      {
        all_success: wanted === n,
        any_success: wanted > 0,
        none_failed: unwanted === 0,
        all_done: true,
        any_done: nS + nF > 0,
      }[step.trigger ?? 'all_success'];
    const result = runs ? ends[name]! : 'skipped';
    final.set(name, result);
    return result;
  };
  const states = Object.fromEntries(steps.map((s) => [s.name, finalOf(s.name)]));
  const all = Object.values(states);
  const outcome = all.includes('cancelled') ? 'cancelled' : all.includes('failed') ? 'failed' : 'succeeded';
  return { states, outcome };
}

describe('advanceWorkflow over random DAGs', () => {
  it('ends with every step terminal, starts none early, and agrees with the reference evaluator', () => {
    fc.assert(
      fc.property(dagArb, fc.infiniteStream(fc.nat()), ({ steps, ends }, picks) => {
        const def = { steps };
        const states: Record<string, StepState> = {};
        const running: string[] = [];
        for (let round = 0; round < 10 * steps.length + 10; round++) {
          const next = advanceWorkflow(def, states);
          for (const s of next.skip) states[s.step] = { state: 'skipped', reason: s.reason, cause: s.cause };
          for (const name of next.start) {
            const step = steps.find((s) => s.name === name)!;
            for (const up of step.dependsOn ?? []) expect(isStepTerminal(states[up]?.state ?? 'pending')).toBe(true);
            expect(states[name]).toBeUndefined();
            states[name] = { state: 'running' };
            running.push(name);
          }
          if (next.outcome) {
            expect(Object.values(states).every((s) => isStepTerminal(s.state))).toBe(true);
            const want = reference(steps, ends);
            const got = Object.fromEntries(steps.map((s) => [s.name, states[s.name]!.state]));
            expect(got).toEqual(want.states);
            expect(next.outcome).toBe(want.outcome);
            return;
          }
          // End one running step, chosen at random, so steps end in any order.
          expect(running.length).toBeGreaterThan(0);
          const [name] = running.splice(picks.next().value % running.length, 1);
          states[name!] = { state: ends[name!]! } as StepState;
        }
        throw new Error('the workflow run did not end');
      }),
      { numRuns: 300 },
    );
  });
});
