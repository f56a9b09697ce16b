// Checks a workflow definition and names every offending field (`steps.3.dependsOn.0`, …):
// shape, step names, upstream names, the graph being acyclic, and rules that can never fire
// (rules.ts lists them). Whether a named `job` exists is the caller's check: it needs the store.
import { ValidationError, type FieldError } from '../errors.js';
import { schemaErrors } from '../job.js';
import { MAX_WORKFLOW_STEPS, WorkflowDefinitionSchema, type WorkflowDefinition, type WorkflowStep } from './definition.js';
import { orderSteps } from './graph.js';

/** Checks a workflow definition and lists every problem with its field; returns it when valid. */
export function validateWorkflowDefinition(input: unknown): WorkflowDefinition {
  const errs = workflowErrors(input);
  if (errs.length > 0) throw new ValidationError(errs);
  return input as WorkflowDefinition;
}

/** Every problem with a workflow definition, each naming its field; empty when it is valid. */
export function workflowErrors(input: unknown): FieldError[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [{ field: '', message: 'the workflow definition must be a JSON object' }];
  }
  const steps = (input as Record<string, unknown>).steps;
  if (Array.isArray(steps) && steps.length > MAX_WORKFLOW_STEPS) {
    return [{ field: 'steps', message: `has ${steps.length} steps; a workflow may have at most ${MAX_WORKFLOW_STEPS}` }];
  }
  const shape = schemaErrors(WorkflowDefinitionSchema, input);
  if (shape.length > 0) return shape;
  const def = input as WorkflowDefinition;
  const errs = def.steps.flatMap((step, i) => stepErrors(step, `steps.${i}`));
  errs.push(...nameErrors(def.steps));
  if (errs.length > 0) return errs;
  const order = orderSteps(def.steps);
  if ('cycle' in order) {
    const at = def.steps.findIndex((s) => s.name === order.cycle[0]);
    return [{ field: `steps.${at}.dependsOn`, message: `forms a cycle: ${order.cycle.join(' → ')}` }];
  }
  return [];
}

function stepErrors(step: WorkflowStep, at: string): FieldError[] {
  const errs: FieldError[] = [];
  if (step.job !== undefined && step.executor !== undefined)
    errs.push({ field: `${at}.executor`, message: 'give either "job" (an existing job) or "executor" (an inline one), not both' });
  if (step.job === undefined && step.executor === undefined)
    errs.push({ field: `${at}.job`, message: 'is required unless the step has an inline "executor"' });
  if (step.maxParallel !== undefined && step.forEach === undefined)
    errs.push({ field: `${at}.maxParallel`, message: 'only applies to a step with "forEach"' });
  errs.push(...ruleErrors(step, at));
  return errs;
}

// The unreachable and contradictory rules of rules.ts.
function ruleErrors(step: WorkflowStep, at: string): FieldError[] {
  const errs: FieldError[] = [];
  const root = (step.dependsOn ?? []).length === 0;
  if (root && step.when === 'failure')
    errs.push({ field: `${at}.when`, message: 'can never be met: a step without "dependsOn" has no upstream to fail' });
  if (root && (step.trigger === 'any_success' || step.trigger === 'any_done'))
    errs.push({
      field: `${at}.trigger`,
      message: `can never fire: a step without "dependsOn" has no upstream for "${step.trigger}" to count`,
    });
  if (!root && (step.trigger === 'all_done' || step.trigger === 'any_done') && (step.when === 'success' || step.when === 'failure'))
    errs.push({
      field: `${at}.when`,
      message: `"${step.when}" contradicts trigger "${step.trigger}", which fires whatever the upstream outcomes; use when: always, or trigger all_success, any_success or none_failed`,
    });
  return errs;
}

function nameErrors(steps: readonly WorkflowStep[]): FieldError[] {
  const errs: FieldError[] = [];
  const firstAt = new Map<string, number>();
  steps.forEach((s, i) => {
    const first = firstAt.get(s.name);
    if (first === undefined) firstAt.set(s.name, i);
    else errs.push({ field: `steps.${i}.name`, message: `"${s.name}" is already the name of steps.${first}; step names must be unique` });
  });
  steps.forEach((s, i) => {
    (s.dependsOn ?? []).forEach((up, j) => {
      const field = `steps.${i}.dependsOn.${j}`;
      if (up === s.name) errs.push({ field, message: `forms a cycle: ${up} → ${up}` });
      else if (!firstAt.has(up)) errs.push({ field, message: `no step is named "${up}"` });
    });
  });
  return errs;
}
