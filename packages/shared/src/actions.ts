// Actions on run events: what a job asks Drover to do when one of its runs succeeds, fails,
// times out, overruns its expected time, is lost or is dead-lettered. The coordinator records
// each action in the same statement as the event that triggers it, then runs it apart from
// the run (retried with backoff), so an action never blocks or loses a run's own outcome.
import { Type, type Static } from '@sinclair/typebox';

/**
 * When an action fires:
 * - `on_success`: the run ended `succeeded`.
 * - `on_failure`: the run ended without success and will not be retried (`failed`,
 *   `timed_out`, `lost` or `expired`); not on `cancelled`.
 * - `on_timeout`: an attempt hit the job's `timeout` (each such attempt, retried or not).
 * - `on_violation`: an attempt ran past the job's `expectedRunTime` (it goes on running).
 * - `on_lost`: an attempt was lost with its agent (each such attempt, retried or not).
 * - `on_dead_letter`: the run was put in the dead-letter list.
 */
export const ACTION_TRIGGERS = ['on_success', 'on_failure', 'on_timeout', 'on_violation', 'on_lost', 'on_dead_letter'] as const;
export type ActionTrigger = (typeof ACTION_TRIGGERS)[number];

const Trigger = Type.Union(
  ACTION_TRIGGERS.map((t) => Type.Literal(t)),
  { description: `When the action fires: ${ACTION_TRIGGERS.join(', ')}.` },
);

export const WebhookActionSchema = Type.Object(
  {
    trigger: Trigger,
    type: Type.Literal('webhook'),
    url: Type.String({ pattern: '^https?://', description: 'Receives a POST describing the run.' }),
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('slack')], {
        description: '"json" (default): the run as JSON; "slack": a Slack-compatible { text, blocks } message.',
      }),
    ),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);

export const TriggerJobActionSchema = Type.Object(
  {
    trigger: Trigger,
    type: Type.Literal('trigger_job'),
    job: Type.String({ minLength: 1, description: 'The id or name of the job to start.' }),
    parameters: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: 'Parameters of the new run; "{{ param.NAME }}", "{{ run.id }}", "{{ job.id }}" take values from the run that fired.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const SkipNextActionSchema = Type.Object(
  {
    trigger: Trigger,
    type: Type.Literal('skip_next'),
  },
  { additionalProperties: false },
);

export const ActionSchema = Type.Union([WebhookActionSchema, TriggerJobActionSchema, SkipNextActionSchema]);
export type ActionSpec = Static<typeof ActionSchema>;
export const ACTION_TYPES = ['webhook', 'trigger_job', 'skip_next'] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

/** The state of one recorded action. */
export type ActionState = 'pending' | 'succeeded' | 'failed';
