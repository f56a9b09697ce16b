// The `webhook` action: POST the event to a URL. A 2xx is delivered; any other status, a
// network error or no answer within the timeout is tried again. Delivery is at least once:
// the `drover-action-id` header is the same on every try, for receivers that deduplicate.
// Internal addresses are refused unless `--webhook-allow` names them (see webhook-policy.ts).
import type { WebhookActionSchema } from '@drover/shared';
import type { Static } from '@sinclair/typebox';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { actionSource } from '../store/action-runs.js';
import { getAttempts } from '../store/query-runs.js';
import type { ActionExecutor } from './executor.js';
import { jsonBody, slackMessage } from './webhook-body.js';
import { DENY_INTERNAL, guardedLookup, refusal, WebhookBlockedError, type WebhookPolicy } from './webhook-policy.js';

type WebhookSpec = Static<typeof WebhookActionSchema>;

// Headers that frame or route the request are the coordinator's to set, not the job's: a job
// setting them could smuggle a second request to the receiver or talk to another virtual host.
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
]);

interface Answer {
  status: number;
}

/**
 * POSTs `body` to `url`, connecting only to addresses the policy allows (checked after DNS
 * resolution, by the lookup the socket uses). Redirects are not followed. The response body is
 * never read: a refusal's text could be another service's page, and the namespace reads lastError.
 */
function post(url: URL, headers: Record<string, string>, body: string, policy: WebhookPolicy, signal: AbortSignal): Promise<Answer> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) !== 0) {
    // An address literal is connected to without a lookup: check it here.
    const why = refusal(policy, host, host);
    if (why) return Promise.reject(new WebhookBlockedError(why));
  }
  const send = url.protocol === 'https:' ? https.request : http.request;
  return new Promise<Answer>((resolve, reject) => {
    const req = send(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      lookup: guardedLookup(policy) as unknown as net.LookupFunction,
      signal,
      agent: false,
    });
    req.once('error', reject);
    req.once('response', (res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.destroy();
    });
    req.end(body);
  });
}

/** `HTTP 503 Service Unavailable`: the status and its standard reason, nothing the receiver wrote. */
function statusText(status: number): string {
  const reason = http.STATUS_CODES[status];
  const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
  return `HTTP ${status}${reason ? ` ${reason}` : ''}${redirect}`;
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
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'drover-coordinator',
    'drover-action-id': String(action.id),
  };
  for (const [name, value] of Object.entries(spec.headers ?? {}))
    if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  let res: Answer;
  try {
    const policy = env.ctx.options.webhookAllow ?? DENY_INTERNAL;
    res = await post(new URL(spec.url), headers, JSON.stringify(body), policy, AbortSignal.any([timeout, env.signal]));
  } catch (err) {
    // A refused address stays refused until the coordinator's settings change: no retries.
    if (err instanceof WebhookBlockedError) return { ok: false, permanent: true, error: `POST ${spec.url}: ${err.message}` };
    if (timeout.aborted) return { ok: false, error: `POST ${spec.url}: no answer within ${env.webhookTimeoutMs / 1000} s` };
    const e = err as NodeJS.ErrnoException & { cause?: { code?: string; message?: string } };
    return { ok: false, error: `POST ${spec.url}: ${e.code ?? e.cause?.code ?? e.message}` };
  }
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
  return { ok: false, status: res.status, error: `POST ${spec.url}: ${statusText(res.status)}` };
};
