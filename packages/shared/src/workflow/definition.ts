// The workflow definition: a DAG of steps, each a job run (a named job or an inline executor)
// started when its upstream steps' outcomes meet its `when` and `trigger` (see rules.ts).
import { Type, type Static } from '@sinclair/typebox';
import { ExecutorSchema } from '../job.js';
import { ScheduleSchema } from '../schedule.js';

/** Most steps one workflow may have. */
export const MAX_WORKFLOW_STEPS = 1000;
/** Most items a literal `forEach` list may have. */
export const MAX_FOR_EACH_ITEMS = 1000;

/** Which upstream outcome a step waits for (rules.ts). */
export const STEP_WHEN = ['success', 'failure', 'always'] as const;
export type StepWhen = (typeof STEP_WHEN)[number];

/** How the outcomes of several upstream steps combine (rules.ts). */
export const STEP_TRIGGERS = ['all_success', 'all_done', 'any_success', 'any_done', 'none_failed'] as const;
export type StepTrigger = (typeof STEP_TRIGGERS)[number];

/** Step names appear in templates (`{{ steps.extract-a.output.rows }}`): no dots or spaces. */
export const STEP_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$';

const StringMap = Type.Record(Type.String(), Type.String());

export const WorkflowStepSchema = Type.Object(
  {
    name: Type.String({ pattern: STEP_NAME_PATTERN, description: 'Unique in the workflow; letters, digits, "-" and "_".' }),
    job: Type.Optional(Type.String({ minLength: 1, description: 'The id or name of an existing job this step runs.' })),
    executor: Type.Optional(ExecutorSchema),
    parameters: Type.Optional(StringMap),
    dependsOn: Type.Optional(Type.Array(Type.String(), { description: 'Names of the upstream steps.' })),
    when: Type.Optional(Type.Union(STEP_WHEN.map((w) => Type.Literal(w)))),
    trigger: Type.Optional(Type.Union(STEP_TRIGGERS.map((t) => Type.Literal(t)))),
    forEach: Type.Optional(
      Type.Union([Type.String({ pattern: '\\{\\{.*\\}\\}' }), Type.Array(Type.Unknown(), { maxItems: MAX_FOR_EACH_ITEMS })], {
        description: 'A template naming a list ("{{ steps.list.output.items }}") or a literal list: one run per item.',
      }),
    ),
    maxParallel: Type.Optional(Type.Integer({ minimum: 1, description: 'Most runs of a forEach step active at once.' })),
  },
  { additionalProperties: false },
);
export type WorkflowStep = Static<typeof WorkflowStepSchema>;

export const WorkflowDefinitionSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
    namespace: Type.Optional(Type.String()),
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    schedule: Type.Optional(ScheduleSchema),
    parameters: Type.Optional(StringMap),
    steps: Type.Array(WorkflowStepSchema, { minItems: 1 }),
  },
  { additionalProperties: false, $id: 'WorkflowDefinition' },
);
export type WorkflowDefinition = Static<typeof WorkflowDefinitionSchema>;
