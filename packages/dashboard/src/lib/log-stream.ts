// Following a run's output with fetch: GET /v1/runs/{id}/logs?follow=1 answers server-sent
// events (`log` with id "<attempt>:<seq>", then `end`). Not EventSource: it cannot send the
// authorization header a signed-in dashboard needs. A stream that breaks off is opened again
// from the last chunk received (`?cursor=`), so nothing is shown twice or skipped.
import { SseParser } from '@drover/client/sse';
import { authHeaders, token } from '../api/auth.js';
import { failure, url, type ApiError } from '../api/http.js';
import type { LogChunk } from '../api/types.js';

export type FollowStatus = 'connecting' | 'following' | 'retrying' | 'ended';

export interface FollowHandlers {
  chunk(chunk: LogChunk): void;
  status(status: FollowStatus): void;
  /** A refusal that reconnecting cannot mend (404, 403; a 401 also shows the sign-in view). */
  refused(err: ApiError): void;
}

const RECONNECT_MS = 2000;

/** Follows until the run has ended, the API refuses, or the signal aborts. */
export async function followLog(runId: string, on: FollowHandlers, signal: AbortSignal): Promise<void> {
  let cursor: string | undefined;
  for (;;) {
    try {
      const target = url('/v1/runs/{id}/logs', { path: { id: runId }, query: { follow: '1', cursor } });
      const sent = token();
      const res = await fetch(target, { headers: { accept: 'text/event-stream', ...authHeaders(sent) }, cache: 'no-store', signal });
      if (!res.ok) {
        const err = failure(res, await res.json().catch(() => undefined), 'the log stream', sent);
        // A 5xx or a proxy's 502 may pass; a refusal will not.
        if (res.status < 500) return on.refused(err);
      } else if (res.body) {
        // The coordinator sends its headers at once: connected, even before the run prints.
        on.status('following');
        const ended = await readEvents(res.body, signal, (id) => (cursor = id), on.chunk);
        if (ended) return on.status('ended');
      }
    } catch (err) {
      if (signal.aborted) return;
      void err; // a dropped connection: reconnect below
    }
    on.status('retrying');
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    if (signal.aborted) return;
  }
}

/** Reads one stream; true when an `end` event says the run ended, false when the stream stopped short. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  advance: (id: string) => void,
  chunk: (c: LogChunk) => void,
): Promise<boolean> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || signal.aborted) return false;
      for (const ev of parser.push(decoder.decode(value, { stream: true }))) {
        if (ev.event === 'log') {
          const c = JSON.parse(ev.data) as LogChunk;
          advance(ev.id ?? `${c.attempt}:${c.seq}`);
          chunk(c);
        } else if (ev.event === 'end') {
          // A null state: the coordinator is stopping, not the run; resume from the cursor.
          return (JSON.parse(ev.data) as { state: string | null }).state !== null;
        } else if (ev.event === 'error') {
          return false;
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
