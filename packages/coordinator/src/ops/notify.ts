// Fleet notifications: a webhook (the coordinator's --notify-url) is told when an agent goes
// down or comes back. Delivery is retried with backoff and never holds up the caller.
import type { Logger } from 'pino';

export interface FleetNotification {
  event: 'agent.down' | 'agent.up';
  agents: Array<{ id: string; name?: string }>;
  at: string;
}

const ATTEMPTS = 4;
const TIMEOUT_MS = 5000;

/** POSTs the notification as JSON, retrying (1 s, 2 s, 4 s) until a 2xx; gives up with a log line. */
export function notify(ctx: { log: Logger; options: { notifyUrl: string | undefined } }, notification: FleetNotification): void {
  const url = ctx.options.notifyUrl;
  if (!url || notification.agents.length === 0) return;
  void (async () => {
    let last = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'drover-coordinator' },
          body: JSON.stringify(notification),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        if (res.ok) return;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (attempt < ATTEMPTS) await new Promise((r) => setTimeout(r, 1000 * 2 ** (attempt - 1)));
    }
    ctx.log.warn({ event: notification.event, url, error: last }, `fleet notification not delivered after ${ATTEMPTS} attempts`);
  })();
}
