// Realistic traffic for a chaos scenario: a steady stream of triggered runs, each with an
// Idempotency-Key. A trigger the API refuses (a 503 during an outage) or that gets no answer is
// tried again with the same key on the next tick, as a careful client would, until it is taken:
// every key ends with exactly one run id, which the checker then requires in the database.
import type { ApiClient } from '../support/index.js';

export interface TrafficFigures {
  /** Run ids the API returned, one per key. */
  triggered: string[];
  /** Answers that were not a run: by HTTP status (0: no answer at all), with the problem codes seen. */
  refusals: Record<string, number>;
  codes: string[];
  /** The slowest refusal, in ms: an outage must be answered fast, not waited out. */
  slowestRefusalMs: number;
  /** Keys whose retry returned another run than an earlier answer for the same key. */
  keyMismatches: number;
}

export interface Traffic {
  /** Triggers one run now (retrying through refusals) and resolves with its id. */
  probe(): Promise<string>;
  /** Stops the stream once every key has its run; resolves with what happened. */
  stop(): Promise<TrafficFigures>;
}

/** Triggers a run of `jobId` every `everyMs`. */
export function startTraffic(client: ApiClient, jobId: string, everyMs: number): Traffic {
  const prefix = `chaos-${Date.now().toString(36)}`;
  const runOf = new Map<string, string>();
  const pending: string[] = [];
  const refusals: Record<string, number> = {};
  const codes = new Set<string>();
  let slowestRefusalMs = 0;
  let keyMismatches = 0;
  let n = 0;
  let stopping = false;

  const attempt = async (key: string): Promise<string | undefined> => {
    const began = Date.now();
    try {
      const res = await client.post<{ id?: string; code?: string }>(`/v1/jobs/${jobId}/runs`, {}, { headers: { 'idempotency-key': key } });
      if ((res.status === 200 || res.status === 201) && res.body.id) {
        const earlier = runOf.get(key);
        if (earlier !== undefined && earlier !== res.body.id) keyMismatches++;
        runOf.set(key, res.body.id);
        return res.body.id;
      }
      refusals[res.status] = (refusals[res.status] ?? 0) + 1;
      if (res.body.code) codes.add(res.body.code);
    } catch {
      refusals['0'] = (refusals['0'] ?? 0) + 1;
    }
    slowestRefusalMs = Math.max(slowestRefusalMs, Date.now() - began);
    return undefined;
  };

  const tick = async () => {
    for (const key of pending.splice(0)) if (!(await attempt(key))) pending.push(key);
    if (!stopping) {
      const key = `${prefix}-${n++}`;
      if (!(await attempt(key))) pending.push(key);
    }
  };

  let running = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(tick);
  }, everyMs);

  return {
    async probe() {
      const key = `${prefix}-probe-${n++}`;
      for (;;) {
        const id = await attempt(key);
        if (id) return id;
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      stopping = true;
      while (pending.length > 0) {
        running = running.then(tick);
        await running;
        if (pending.length > 0) await new Promise((r) => setTimeout(r, 500));
      }
      clearInterval(timer);
      await running;
      return { triggered: [...runOf.values()], refusals, codes: [...codes], slowestRefusalMs, keyMismatches };
    },
  };
}
