import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpExecutor } from './http.js';
import { noopExecutor } from './noop.js';
import { eventually, makeOffer, runToEnd } from '../../test/fixtures.js';

async function bodyOf(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString();
}

describe('http executor', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      void bodyOf(req).then((body) => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        if (req.url === '/fail') return res.writeHead(503).end('down for maintenance');
        if (req.url === '/created') return res.writeHead(201).end('made');
        if (req.url === '/big') return res.writeHead(200).end('y'.repeat(3000));
        if (req.url === '/hang') return; // never answers
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello ${req.method}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('succeeds on 2xx and logs the response body', async () => {
    const { result, stdout, startedAt } = await runToEnd(httpExecutor(), { type: 'http', url: `${base}/ok` });
    expect(result).toMatchObject({ outcome: 'succeeded', error: null, exitCode: null, httpStatus: 200 });
    expect(stdout).toBe('hello GET');
    expect(startedAt).toBeTypeOf('number');
  });

  it('sends method, headers and an object body as JSON', async () => {
    const { result } = await runToEnd(httpExecutor(), {
      type: 'http',
      method: 'POST',
      url: `${base}/hook`,
      headers: { 'x-token': 'abc' },
      body: { n: 1, tags: ['a'] },
    });
    expect(result.outcome).toBe('succeeded');
    const req = seen.find((r) => r.url === '/hook');
    expect(req).toMatchObject({ method: 'POST', body: '{"n":1,"tags":["a"]}' });
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['x-token']).toBe('abc');
  });

  it('fails with the status when it is not expected', async () => {
    const { result, stdout } = await runToEnd(httpExecutor(), { type: 'http', url: `${base}/fail` });
    expect(result).toMatchObject({
      outcome: 'failed',
      httpStatus: 503,
      error: `GET ${base}/fail answered 503 Service Unavailable (expected 2xx)`,
    });
    expect(stdout).toBe('down for maintenance');
  });

  it('honours the listed expected statuses', async () => {
    expect((await runToEnd(httpExecutor(), { type: 'http', url: `${base}/fail`, expectedStatus: [200, 503] })).result.outcome).toBe(
      'succeeded',
    );
    expect((await runToEnd(httpExecutor(), { type: 'http', url: `${base}/ok`, expectedStatus: 201 })).result).toMatchObject({
      outcome: 'failed',
      error: `GET ${base}/ok answered 200 OK (expected 201)`,
    });
  });

  it('caps the logged body', async () => {
    const { result, stdout } = await runToEnd(httpExecutor({ bodyLogLimit: 1000 }), { type: 'http', url: `${base}/big` });
    expect(result.outcome).toBe('succeeded');
    expect(stdout.startsWith('y'.repeat(1000) + '\n[drover: response body truncated after 1000 bytes]')).toBe(true);
  });

  it('fails clearly when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { result } = await runToEnd(httpExecutor(), { type: 'http', url: `http://127.0.0.1:${port}/` });
    expect(result).toMatchObject({
      outcome: 'failed',
      httpStatus: null,
      error: `GET http://127.0.0.1:${port}/ failed: fetch failed: ECONNREFUSED`,
    });
  });

  it('renders parameter templates into the url, headers and body', async () => {
    const { result } = await runToEnd(
      httpExecutor(),
      {
        type: 'http',
        method: 'POST',
        url: `${base}/templated/{{ run.id }}?region={{ param.region }}`,
        headers: { 'x-attempt': '{{ attempt }}' },
        body: { job: '{{ job.name }}', region: '{{ param.region }}' },
      },
      { runId: 'RUN7', jobName: 'ping', attempt: 2, parameters: { region: 'eu' } },
    );
    expect(result).toMatchObject({ outcome: 'succeeded', httpStatus: 200 });
    const req = seen.find((r) => r.url?.startsWith('/templated/'));
    expect(req).toMatchObject({ url: '/templated/RUN7?region=eu', body: '{"job":"ping","region":"eu"}' });
    expect(req?.headers['x-attempt']).toBe('2');
  });

  it('stops a request in flight with the stop outcome', async () => {
    const running = httpExecutor().start(makeOffer({ executor: { type: 'http', url: `${base}/hang` } }), {
      started: () => undefined,
      output: () => undefined,
    });
    running.stop({ outcome: 'timed_out', message: 'timed out after 1s' });
    expect(await running.result).toMatchObject({ outcome: 'timed_out', error: 'timed out after 1s', httpStatus: null });
  });
});

describe('http executor status', () => {
  it('keeps the status of a response whose body was still coming when the attempt was stopped', async () => {
    const server = createServer((_req, res) => res.writeHead(200).write('partial'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      let out = '';
      const running = httpExecutor().start(
        makeOffer({ executor: { type: 'http', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` } }),
        { started: () => undefined, output: (_s, d) => (out += String(d)) },
      );
      await eventually(() => out === 'partial', 10_000, 'the first bytes of the body');
      running.stop({ outcome: 'timed_out', message: 'timed out after 1s' });
      expect(await running.result).toMatchObject({ outcome: 'timed_out', httpStatus: 200 });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('noop executor', () => {
  it('succeeds at once', async () => {
    expect((await runToEnd(noopExecutor(), { type: 'noop' })).result).toMatchObject({ outcome: 'succeeded', error: null });
  });

  it('can be stopped while it sleeps', async () => {
    const running = noopExecutor().start(makeOffer({ executor: { type: 'noop', sleep: '1h' } }), {
      started: () => undefined,
      output: () => undefined,
    });
    running.stop({ outcome: 'cancelled', message: 'cancelled: test' });
    expect(await running.result).toMatchObject({ outcome: 'cancelled', error: 'cancelled: test' });
  });
});
