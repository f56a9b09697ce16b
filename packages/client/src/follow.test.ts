import { describe, expect, it } from 'vitest';
import { createDroverClient } from './client.js';
import { followRunLogs, type LogChunk } from './follow.js';

const chunk = (attempt: number, seq: number, data: string): LogChunk => ({
  attempt,
  seq,
  stream: 'stdout',
  data,
  at: '2026-11-30T12:00:00.000Z',
});
const logEvent = (c: LogChunk) => `id: ${c.attempt}:${c.seq}\nevent: log\ndata: ${JSON.stringify(c)}\n\n`;

/** A fetch that answers each request with the next scripted SSE body, recording the URLs asked for. */
function scriptedFetch(bodies: Array<string | Response | Error>) {
  const urls: string[] = [];
  const fetch = async (input: string | URL | Request) => {
    urls.push((input as Request).url);
    const next = bodies.shift();
    if (next === undefined) throw new Error('no more scripted responses');
    if (next instanceof Error) throw next;
    if (next instanceof Response) return next;
    // Split the body into two network reads mid-event, as a real stream may.
    const half = Math.floor(next.length / 2);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(next.slice(0, half)));
        c.enqueue(new TextEncoder().encode(next.slice(half)));
        c.close();
      },
    });
    return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
  };
  return { fetch, urls };
}

describe('followRunLogs', () => {
  it('yields chunks in order until the end event, and reports the final state', async () => {
    const { fetch, urls } = scriptedFetch([
      `${logEvent(chunk(1, 0, 'a\n'))}${logEvent(chunk(1, 1, 'b\n'))}event: end\ndata: {"state":"succeeded"}\n\n`,
    ]);
    const client = createDroverClient({ baseUrl: 'http://coord', fetch });
    let end: string | undefined;
    const seen: string[] = [];
    for await (const c of followRunLogs(client, 'R1', { onEnd: (s) => (end = s) })) seen.push(c.data);
    expect(seen).toEqual(['a\n', 'b\n']);
    expect(end).toBe('succeeded');
    expect(urls).toEqual(['http://coord/v1/runs/R1/logs?follow=1']);
  });

  it('resumes after the last chunk when the coordinator ends the stream before the run has ended', async () => {
    const { fetch, urls } = scriptedFetch([
      `${logEvent(chunk(1, 0, 'a\n'))}event: end\ndata: {"state":null,"reason":"the coordinator is stopping"}\n\n`,
      `${logEvent(chunk(1, 1, 'b\n'))}event: end\ndata: {"state":"failed"}\n\n`,
    ]);
    const client = createDroverClient({ baseUrl: 'http://coord', fetch });
    const seen: string[] = [];
    for await (const c of followRunLogs(client, 'R1', { reconnectDelayMs: 0 })) seen.push(c.data);
    expect(seen).toEqual(['a\n', 'b\n']);
    expect(urls[1]).toBe('http://coord/v1/runs/R1/logs?follow=1&cursor=1%3A0');
  });

  it('throws the API refusal (an unknown run) rather than retrying it', async () => {
    const notFound = Response.json({ title: 'Not Found', status: 404, detail: 'no run with id "R9"' }, { status: 404 });
    const client = createDroverClient({ baseUrl: 'http://coord', fetch: scriptedFetch([notFound]).fetch });
    await expect(followRunLogs(client, 'R9').next()).rejects.toMatchObject({ name: 'DroverApiError', status: 404 });
  });

  describe('reconnecting while the coordinator is away', () => {
    const refused = () => Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const stopping = (c: LogChunk) => `${logEvent(c)}event: end\ndata: {"state":null,"reason":"the coordinator is stopping"}\n\n`;
    /** A clock that only the injected sleep moves, and the waits asked for. */
    function fakeTime() {
      let t = 0;
      const waits: number[] = [];
      return {
        waits,
        now: () => t,
        sleep: async (ms: number) => {
          waits.push(ms);
          t += ms;
        },
        elapse: (ms: number) => void (t += ms),
      };
    }

    it('outlasts a restart longer than the old five reconnects, backing off 1 s, 2 s, 4 s, then 5 s at most', async () => {
      const time = fakeTime();
      const down = Array.from({ length: 10 }, refused);
      const { fetch } = scriptedFetch([
        stopping(chunk(1, 0, 'a\n')),
        ...down,
        `${logEvent(chunk(1, 1, 'b\n'))}event: end\ndata: {"state":"succeeded"}\n\n`,
      ]);
      const client = createDroverClient({ baseUrl: 'http://coord', fetch });
      const seen: string[] = [];
      let end: string | undefined;
      for await (const c of followRunLogs(client, 'R1', { now: time.now, sleep: time.sleep, onEnd: (s) => (end = s) })) seen.push(c.data);
      expect(seen).toEqual(['a\n', 'b\n']);
      expect(end).toBe('succeeded');
      expect(time.waits).toEqual([1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000]);
    });

    it('gives up with the connection error once 60 s pass without a stream opening', async () => {
      const time = fakeTime();
      const { fetch, urls } = scriptedFetch(Array.from({ length: 100 }, refused));
      const client = createDroverClient({ baseUrl: 'http://coord', fetch });
      await expect(followRunLogs(client, 'R1', { now: time.now, sleep: time.sleep }).next()).rejects.toMatchObject({
        name: 'DroverConnectionError',
      });
      expect(time.now()).toBe(60_000);
      expect(Math.max(...time.waits)).toBe(5000);
      expect(urls.length).toBe(time.waits.length + 1);
    });

    it('starts the budget and the backoff afresh after a stream opens', async () => {
      const time = fakeTime();
      // 50 s unreachable, a stream that the coordinator ends at once, 50 s unreachable again:
      // 100 s in all, yet never 60 s without a stream.
      const outage = () => Array.from({ length: 12 }, refused);
      const { fetch } = scriptedFetch([
        ...outage(),
        stopping(chunk(1, 0, 'a\n')),
        ...outage(),
        `${logEvent(chunk(1, 1, 'b\n'))}event: end\ndata: {"state":"failed"}\n\n`,
      ]);
      const client = createDroverClient({ baseUrl: 'http://coord', fetch });
      const seen: string[] = [];
      for await (const c of followRunLogs(client, 'R1', { now: time.now, sleep: time.sleep })) seen.push(c.data);
      expect(seen).toEqual(['a\n', 'b\n']);
      expect(time.now()).toBeGreaterThan(60_000);
      const backoff = [1000, 2000, 4000, ...Array.from({ length: 9 }, () => 5000)];
      // The wait after the stream ended starts from 1 s again.
      expect(time.waits).toEqual([...backoff, 1000, 2000, 4000, ...Array.from({ length: 10 }, () => 5000)]);
    });

    it('waits out a 503 from a proxy in front of a restarting coordinator', async () => {
      const time = fakeTime();
      const unavailable = new Response('upstream unavailable', { status: 503, statusText: 'Service Unavailable' });
      const { fetch } = scriptedFetch([unavailable, `${logEvent(chunk(1, 0, 'a\n'))}event: end\ndata: {"state":"succeeded"}\n\n`]);
      const client = createDroverClient({ baseUrl: 'http://coord', fetch });
      const seen: string[] = [];
      for await (const c of followRunLogs(client, 'R1', { now: time.now, sleep: time.sleep })) seen.push(c.data);
      expect(seen).toEqual(['a\n']);
      expect(time.waits).toEqual([1000]);
    });

    it('still honours maxReconnects and reconnectDelayMs when given', async () => {
      const time = fakeTime();
      const { fetch, urls } = scriptedFetch(Array.from({ length: 10 }, refused));
      const client = createDroverClient({ baseUrl: 'http://coord', fetch });
      const follow = followRunLogs(client, 'R1', { maxReconnects: 2, reconnectDelayMs: 10, now: time.now, sleep: time.sleep });
      await expect(follow.next()).rejects.toMatchObject({ name: 'DroverConnectionError' });
      expect(urls.length).toBe(3);
      expect(time.waits).toEqual([10, 20]);
    });

    it('stops quietly when aborted during a wait', async () => {
      const stop = new AbortController();
      const { fetch } = scriptedFetch(Array.from({ length: 10 }, refused));
      const client = createDroverClient({ baseUrl: 'http://coord', fetch });
      const sleep = async () => stop.abort();
      const follow = followRunLogs(client, 'R1', { signal: stop.signal, sleep });
      expect(await follow.next()).toEqual({ done: true, value: undefined });
    });
  });
});
