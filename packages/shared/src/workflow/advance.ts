// Advancing a workflow run: the pure decision of what happens next, given the definition and
// each step's state. The caller records it (in the same statement as the step run's end that
// prompted it) and calls again when a step ends. Semantics: rules.ts. A `forEach` step is one
// step here: the caller expands its items (bounded by `maxParallel`) and passes their aggregate.
import type { WorkflowDefinition } from './definition.js';
import { orderSteps } from './graph.js';
import { decideStep, isStepTerminal, type SkipCause, type StepState } from './rules.js';

/** The outcome of a workflow run whose steps are all terminal. */
export type WorkflowOutcome = 'succeeded' | 'failed' | 'cancelled';

/** What to do next in a workflow run. */
export interface WorkflowAdvance {
  /** Pending steps to start now (their upstreams are terminal and their rule fired). */
  start: string[];
  /** Pending steps whose rule can no longer fire, upstream-first. */
  skip: Array<{ step: string; reason: string; cause: SkipCause }>;
  /** Pending steps not to start because the workflow run is being cancelled. */
  cancel: string[];
  /** Set when, after `skip` and `cancel`, every step is terminal. */
  outcome?: WorkflowOutcome;
}

/**
 * Decides which pending steps start, are skipped (skips propagate within one call) or, when
 * `cancelling`, are cancelled; and the run's outcome once every step is terminal. A step
 * missing from `states` is pending. Throws on a cyclic definition (validation refuses those).
 */
export function advanceWorkflow(
  def: Pick<WorkflowDefinition, 'steps'>,
  states: Readonly<Record<string, StepState>>,
  options: { cancelling?: boolean } = {},
): WorkflowAdvance {
  const order = orderSteps(def.steps);
  if ('cycle' in order) throw new Error(`workflow steps form a cycle: ${order.cycle.join(' → ')}`);
  const byName = new Map(def.steps.map((s) => [s.name, s]));
  const now = new Map<string, StepState>();
  for (const s of def.steps) now.set(s.name, states[s.name] ?? { state: 'pending' });
  const next: WorkflowAdvance = { start: [], skip: [], cancel: [] };
  for (const name of order.order) {
    if (now.get(name)!.state !== 'pending') continue;
    if (options.cancelling) {
      next.cancel.push(name);
      now.set(name, { state: 'cancelled' });
      continue;
    }
    const decision = decideStep(byName.get(name)!, now);
    if (!decision) continue;
    if (decision.run) {
      next.start.push(name);
      continue;
    }
    next.skip.push({ step: name, reason: decision.reason, cause: decision.cause });
    now.set(name, { state: 'skipped', reason: decision.reason, cause: decision.cause });
  }
  if (next.start.length === 0 && [...now.values()].every((s) => isStepTerminal(s.state))) next.outcome = outcomeOf([...now.values()]);
  return next;
}

function outcomeOf(states: StepState[]): WorkflowOutcome {
  if (states.some((s) => s.state === 'cancelled')) return 'cancelled';
  if (states.some((s) => s.state === 'failed')) return 'failed';
  return 'succeeded';
}
