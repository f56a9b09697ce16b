// The `webhook` action: POST the event to a URL. A 2xx is delivered; any other status, a
// network error or no answer within the timeout is tried again. Delivery is at least once:
// the `drover-action-id` header is the same on every try, for receivers that deduplicate.
import type { WebhookActionSchema } from '@drover/shared';
import type { Static } from '@sinclair/typebox';
import { actionSource } from '../store/action-runs.js';
import { getAttempts } from '../store/query-runs.js';
import type { ActionExecutor } from './executor.js';
import { jsonBody, slackMessage } from './webhook-body.js';

type WebhookSpec = Static<typeof WebhookActionSchema>;

/** Enough of a refusal's body to say why, without keeping a large page in the error. */
const MAX_ERROR_BODY = 200;

async function responseSnippet(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_ERROR_BODY ? `${flat.slice(0, MAX_ERROR_BODY)}…` : flat;
}

export const runWebhook: ActionExecutor = async (action, env) => {
  const spec = action.spec as WebhookSpec;
  const { run, jobName } = await actionSource(env.ctx.db, action.runId, action.jobId);
  if (!run) return { ok: false, permanent: true, error: `run ${action.runId} no longer exists` };
  const attempts = await getAttempts(env.ctx.db, run);
  const event = {
    event: action.trigger,
    run,
    job: { id: action.jobId, name: jobName },
    attempt: action.attempt,
    attemptRecord: attempts.find((a) => a.attempt === action.attempt && a.finishedAt !== null) ?? null,
    at: action.createdAt.toISOString(),
  };
  const body = spec.format === 'slack' ? slackMessage(event) : jsonBody(event);
  const timeout = AbortSignal.timeout(env.webhookTimeoutMs);
  let res: Response;
  try {
    res = await fetch(spec.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'drover-coordinator',
        'drover-action-id': String(action.id),
        ...spec.headers,
      },
      body: JSON.stringify(body),
      signal: AbortSignal.any([timeout, env.signal]),
      redirect: 'manual',
    });
  } catch (err) {
    if (timeout.aborted) return { ok: false, error: `POST ${spec.url}: no answer within ${env.webhookTimeoutMs / 1000} s` };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, error: `POST ${spec.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}` };
  }
  if (res.ok) {
    await res.body?.cancel().catch(() => undefined);
    return { ok: true, status: res.status };
  }
  const snippet = await responseSnippet(res);
  return { ok: false, status: res.status, error: `POST ${spec.url}: HTTP ${res.status}${snippet ? `: ${snippet}` : ''}` };
};
