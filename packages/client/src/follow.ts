// Following a run's output: the SSE stream of GET /v1/runs/{id}/logs?follow=1, resumed from
// the last chunk when the stream breaks off before the run has ended.
import type { paths } from './schema.js';
import type { DroverClient } from './client.js';
import { DroverApiError, DroverConnectionError, isAbort } from './errors.js';
import { SseParser } from './sse.js';

/** One piece of a run's output. */
export type LogChunk = paths['/v1/runs/{id}/logs']['get']['responses'][200]['content']['application/json']['items'][number];

export interface FollowOptions {
  /** Stops following (the iterator then ends quietly). */
  signal?: AbortSignal;
  /** Only this attempt's output. */
  attempt?: number;
  /** Start after this chunk (`"<attempt>:<seq>"`, as in nextCursor); from the beginning by default. */
  cursor?: string;
  /** How many times in a row to resume a stream that broke off before the run ended (default 5). */
  maxReconnects?: number;
  /** How long to wait before resuming (default 1000 ms). */
  reconnectDelayMs?: number;
  /** Told the run's final state when the stream says it has ended. */
  onEnd?: (state: string) => void;
}

const RECONNECT_DELAY_MS = 1000;

/** Yields a run's output chunks in order, until the run has ended and every chunk has been read. */
export async function* followRunLogs(client: DroverClient, runId: string, options: FollowOptions = {}): AsyncGenerator<LogChunk> {
  let cursor = options.cursor;
  let failures = 0;
  const maxReconnects = options.maxReconnects ?? 5;
  for (;;) {
    let broken: unknown;
    try {
      const end = yield* readStream(client, runId, cursor, options, (c) => {
        cursor = c;
        failures = 0; // progress: only consecutive breaks count against maxReconnects
      });
      if (end !== undefined) {
        options.onEnd?.(end);
        return;
      }
    } catch (err) {
      if (options.signal?.aborted || isAbort(err)) return;
      // A refusal (404, 400) is an answer, not a broken stream.
      if (err instanceof DroverApiError) throw err;
      broken = err;
    }
    if (++failures > maxReconnects) throw broken instanceof DroverConnectionError ? broken : streamBrokeOff(runId, broken);
    // The coordinator ended the stream early (it is stopping) or the connection broke:
    // resume after the last chunk received, as the server's end event asks.
    await sleep(options.reconnectDelayMs ?? RECONNECT_DELAY_MS, options.signal);
    if (options.signal?.aborted) return;
  }
}

function streamBrokeOff(runId: string, cause?: unknown): Error {
  return Object.assign(new Error(`the log stream of run ${runId} kept breaking off before the run ended`, { cause }), {
    name: 'DroverStreamError',
    code: 'LOG_STREAM_BROKEN',
  });
}

/** Reads one stream; returns the run's final state on an `end` event that has one, else undefined. */
async function* readStream(
  client: DroverClient,
  runId: string,
  cursor: string | undefined,
  options: FollowOptions,
  advance: (cursor: string) => void,
): AsyncGenerator<LogChunk, string | undefined> {
  const query = {
    follow: '1' as const,
    ...(cursor ? { cursor } : {}),
    ...(options.attempt !== undefined ? { attempt: options.attempt } : {}),
  };
  const { data, error, response } = await client.GET('/v1/runs/{id}/logs', {
    params: { path: { id: runId }, query },
    parseAs: 'stream',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (error !== undefined || !response.ok || !data) throw DroverApiError.fromResponse(response, error);
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = (data as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return undefined;
      for (const ev of parser.push(decoder.decode(value, { stream: true }))) {
        if (ev.event === 'log') {
          const chunk = JSON.parse(ev.data) as LogChunk;
          advance(ev.id ?? `${chunk.attempt}:${chunk.seq}`);
          yield chunk;
        } else if (ev.event === 'end') {
          const { state } = JSON.parse(ev.data) as { state: string | null };
          return state ?? undefined;
        } else if (ev.event === 'error') {
          return undefined; // the server asks to reconnect from the last event id
        }
      }
    }
  } finally {
    // Stop the request when the caller breaks out of the loop early.
    await reader.cancel().catch(() => undefined);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
