import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DroverApiError, DroverConnectionError, networkCode, problemOf } from './errors.js';
import { createDroverClient, ok } from './client.js';

/** A port nothing listens on (fetch refuses some low ports outright, so not port 1). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const res = (status: number, statusText = '') => ({ status, statusText });

describe('DroverApiError', () => {
  it('carries the problem body: status, code, detail and every field error', () => {
    const body = {
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'name: is required; executor.command: must not be empty',
      errors: [
        { field: 'name', message: 'is required' },
        { field: 'executor.command', message: 'must not be empty' },
      ],
    };
    const err = DroverApiError.fromResponse(new Response(null, { status: 400 }), body);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'DroverApiError', code: 'BAD_REQUEST', status: 400, title: 'Bad Request' });
    // The API's own code, when the problem has one, is what a caller branches on.
    expect(DroverApiError.fromResponse(new Response(null, { status: 400 }), { ...body, code: 'VALIDATION_FAILED' }).code).toBe(
      'VALIDATION_FAILED',
    );
    expect(err.message).toBe(body.detail);
    expect(err.errors.map((e) => e.field)).toEqual(['name', 'executor.command']);
    expect(err.cause).toBe(body);
  });

  it('falls back to the status line when the body is not a problem (a proxy page)', () => {
    expect(problemOf(res(502, 'Bad Gateway'), 'upstream\n  down')).toEqual({
      title: 'Bad Gateway',
      status: 502,
      detail: 'Bad Gateway: upstream down',
    });
    expect(problemOf(res(404, 'File not found'), '<!DOCTYPE HTML>\n<html>…</html>').detail).toBe(
      'File not found, as an HTML page: is this the address of a Drover coordinator?',
    );
    expect(problemOf(res(500), undefined).detail).toBe('HTTP 500');
  });
});

describe('DroverConnectionError', () => {
  it('names the address, the reason and what to do', () => {
    const cause = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    const err = new DroverConnectionError('http://127.0.0.1:7400', cause);
    expect(err.message).toBe(
      'cannot reach the Drover coordinator at http://127.0.0.1:7400: connection refused — is it running? set DROVER_ADDR to its address',
    );
    expect(err).toMatchObject({ name: 'DroverConnectionError', code: 'COORDINATOR_UNREACHABLE', cause });
  });

  it('finds the code inside an AggregateError (localhost resolving to two addresses)', () => {
    const agg = Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), { code: undefined });
    expect(networkCode(new TypeError('fetch failed', { cause: agg }))).toBe('ECONNREFUSED');
  });

  it('is what a client request to a closed port throws', async () => {
    const port = await closedPort();
    const client = createDroverClient({ baseUrl: `http://127.0.0.1:${port}/` });
    await expect(client.GET('/v1/fleet')).rejects.toThrow(
      `cannot reach the Drover coordinator at http://127.0.0.1:${port}: connection refused`,
    );
  });
});

describe('createDroverClient and ok()', () => {
  it('sends the bearer token and returns data; an error status throws the problem', async () => {
    const seen: string[] = [];
    const fetch = async (input: string | URL | Request) => {
      const req = input as Request;
      seen.push(`${req.method} ${req.url} ${req.headers.get('authorization')}`);
      return req.url.endsWith('/v1/jobs/nope')
        ? new Response(JSON.stringify({ title: 'Not Found', status: 404, detail: 'no job with id "nope"' }), {
            status: 404,
            headers: { 'content-type': 'application/problem+json' },
          })
        : Response.json({ id: 'j1', name: 'nightly' });
    };
    const client = createDroverClient({ baseUrl: 'http://coord:7400', token: 's3cret', fetch });
    const job = ok(await client.GET('/v1/jobs/{id}', { params: { path: { id: 'j1' } } }));
    expect(job.name).toBe('nightly');
    await expect(client.GET('/v1/jobs/{id}', { params: { path: { id: 'nope' } } }).then(ok)).rejects.toMatchObject({
      name: 'DroverApiError',
      status: 404,
      code: 'NOT_FOUND',
      message: 'no job with id "nope"',
    });
    expect(seen).toEqual(['GET http://coord:7400/v1/jobs/j1 Bearer s3cret', 'GET http://coord:7400/v1/jobs/nope Bearer s3cret']);
  });
});
