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
  /**
   * How long to keep reconnecting without once getting a stream (default 60 s): a coordinator
   * restart, or a failover to another one, fits in it. Counted from the last stream that opened.
   */
  reconnectBudgetMs?: number;
  /** The first wait before reconnecting (default 1000 ms); it doubles on each failure in a row. */
  reconnectDelayMs?: number;
  /** The longest wait between reconnects (default 5000 ms). */
  maxReconnectDelayMs?: number;
  /**
   * Also give up after this many breaks in a row without a chunk between them (no limit by
   * default: the time budget decides).
   */
  maxReconnects?: number;
  /** Told the run's final state when the stream says it has ended. */
  onEnd?: (state: string) => void;
  /** The clock, in ms (tests). */
  now?: () => number;
  /** Waits `ms`, or less when `signal` aborts (tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** FollowOptions with their defaults, checked once. */
interface CompiledFollowOptions {
  readonly reconnectBudgetMs: number;
  readonly reconnectDelayMs: number;
  readonly maxReconnectDelayMs: number;
  readonly maxReconnects: number;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const RECONNECT_BUDGET_MS = 60_000;
const RECONNECT_DELAY_MS = 1000;
const MAX_RECONNECT_DELAY_MS = 5000;

function compileFollowOptions(options: FollowOptions): CompiledFollowOptions {
  const nonNegative = (name: keyof FollowOptions, value: number) => {
    if (!(value >= 0)) throw new RangeError(`followRunLogs: ${name} must be a number >= 0, not ${value}`);
    return value;
  };
  const reconnectDelayMs = nonNegative('reconnectDelayMs', options.reconnectDelayMs ?? RECONNECT_DELAY_MS);
  return Object.freeze({
    reconnectBudgetMs: nonNegative('reconnectBudgetMs', options.reconnectBudgetMs ?? RECONNECT_BUDGET_MS),
    reconnectDelayMs,
    maxReconnectDelayMs: Math.max(
      reconnectDelayMs,
      nonNegative('maxReconnectDelayMs', options.maxReconnectDelayMs ?? MAX_RECONNECT_DELAY_MS),
    ),
    maxReconnects: nonNegative('maxReconnects', options.maxReconnects ?? Number.POSITIVE_INFINITY),
    now: options.now ?? Date.now,
    sleep: options.sleep ?? sleep,
  });
}

// What a coordinator restarting behind a proxy or load balancer answers: worth waiting out.
const TRANSIENT_STATUS = new Set([502, 503, 504]);

/** Yields a run's output chunks in order, until the run has ended and every chunk has been read. */
export async function* followRunLogs(client: DroverClient, runId: string, options: FollowOptions = {}): AsyncGenerator<LogChunk> {
  const o = compileFollowOptions(options);
  let cursor = options.cursor;
  let failures = 0; // breaks in a row without a chunk, for maxReconnects
  let delay = o.reconnectDelayMs;
  let connectedAt = o.now(); // the budget runs from the last stream that opened (or the start)
  for (;;) {
    let broken: unknown;
    try {
      const end = yield* readStream(
        client,
        runId,
        cursor,
        options,
        () => {
          connectedAt = o.now();
          delay = o.reconnectDelayMs;
        },
        (c) => {
          cursor = c;
          failures = 0;
        },
      );
      if (end !== undefined) {
        options.onEnd?.(end);
        return;
      }
    } catch (err) {
      if (options.signal?.aborted || isAbort(err)) return;
      // A refusal (404, 400) is an answer, not a broken stream.
      if (err instanceof DroverApiError && !TRANSIENT_STATUS.has(err.status)) throw err;
      broken = err;
    }
    // The coordinator ended the stream early (it is stopping) or could not be reached: resume
    // after the last chunk received, as the server's end event asks, while the budget lasts.
    const left = o.reconnectBudgetMs - (o.now() - connectedAt);
    if (++failures > o.maxReconnects || left <= 0)
      throw broken instanceof DroverConnectionError ? broken : streamBrokeOff(runId, o.reconnectBudgetMs, broken);
    await o.sleep(Math.min(delay, left), options.signal);
    delay = Math.min(delay * 2, o.maxReconnectDelayMs);
    if (options.signal?.aborted) return;
  }
}

function streamBrokeOff(runId: string, budgetMs: number, cause?: unknown): Error {
  const message = `the log stream of run ${runId} kept breaking off before the run ended (no stream for ${budgetMs / 1000} s)`;
  return Object.assign(new Error(message, { cause }), {
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
  connected: () => void,
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
  connected();
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
