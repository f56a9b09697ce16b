// What a webhook action POSTs: the run as JSON, or a Slack-compatible message. Pure, so the
// exact bodies are unit-tested.
import type { ActionTrigger } from '@drover/shared';
import type { Run } from '../store/run-model.js';
import type { Attempt } from '../store/query-runs.js';

/** The event, the run that fired it and when it happened. */
export interface WebhookEvent {
  event: ActionTrigger;
  /** The run as GET /v1/runs/{id} shows it, read when the webhook is sent. */
  run: Run;
  job: { id: string; name: string };
  /** The attempt the event belongs to. */
  attempt: number;
  /**
   * That attempt's record (outcome, exit code, timing) once it has ended; null while it runs
   * (a violation). The run may have moved on to a later attempt by the time this is sent.
   */
  attemptRecord: Attempt | null;
  /** When the event happened (the action was recorded), ISO 8601. */
  at: string;
}

/** The `json` format: the event as it is. */
export function jsonBody(event: WebhookEvent): WebhookEvent {
  return { event: event.event, run: event.run, job: event.job, attempt: event.attempt, attemptRecord: event.attemptRecord, at: event.at };
}

const HAPPENED: Record<ActionTrigger, { icon: string; words: string }> = {
  on_success: { icon: ':white_check_mark:', words: 'succeeded' },
  on_failure: { icon: ':x:', words: 'failed' },
  on_timeout: { icon: ':hourglass:', words: 'timed out' },
  on_violation: { icon: ':warning:', words: 'is running past its expected run time' },
  on_lost: { icon: ':ghost:', words: 'was lost with its agent' },
  on_dead_letter: { icon: ':skull:', words: 'was dead-lettered' },
};

/** Slack reads `&`, `<` and `>` as markup: anything from a user or a run is escaped. */
const escape = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** Slack rejects a section text over 3000 characters; a long error keeps its head. */
const MAX_ERROR_CHARS = 1500;

function errorLine(run: Run): string | undefined {
  if (run.error) return run.error.length > MAX_ERROR_CHARS ? `${run.error.slice(0, MAX_ERROR_CHARS)}…` : run.error;
  if (run.exitCode !== null && run.exitCode !== 0) return `exit code ${run.exitCode}`;
  if (run.signal) return `killed by ${run.signal}`;
  return undefined;
}

/** The `slack` format: a one-line `text` (notifications, fallbacks) and `blocks` with the details. */
export function slackMessage(event: WebhookEvent): { text: string; blocks: unknown[] } {
  const { icon, words } = HAPPENED[event.event] ?? { icon: ':information_source:', words: event.event };
  const error = errorLine(event.run);
  const headline = `${icon} Job *${escape(event.job.name)}* ${words}`;
  const fields = [
    `*Run*\n\`${event.run.id}\``,
    `*State*\n${event.run.state}`,
    `*Attempt*\n${event.attempt}`,
    `*Exit code*\n${(event.attemptRecord ?? event.run).exitCode ?? '–'}`,
  ];
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: headline } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
  ];
  if (error) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Error*\n\`\`\`${escape(error)}\`\`\`` } });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Drover · ${event.event} · ${event.at}` }] });
  const text = `${icon} Job ${escape(event.job.name)} ${words} (run ${event.run.id}, ${event.run.state}${error ? `: ${escape(error)}` : ''})`;
  return { text, blocks };
}
