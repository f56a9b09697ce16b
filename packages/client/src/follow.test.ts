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
function scriptedFetch(bodies: Array<string | Response>) {
  const urls: string[] = [];
  const fetch = async (input: string | URL | Request) => {
    urls.push((input as Request).url);
    const next = bodies.shift();
    if (next === undefined) throw new Error('no more scripted responses');
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
});
