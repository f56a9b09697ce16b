// Connections that would crowd out everyone else, against a real coordinator started with a
// small per-address cap and a short request timeout: sockets past the cap from one address are
// closed at once, without an answer; a socket that never sends a request is answered 408 and
// closed after the timeout; a followed log stream (a long response) outlives the timeout.
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, runHelpers, startAgent, startCoordinator, type ApiClient, type TestEnv } from './support/index.js';

let env: TestEnv;
let client: ApiClient;
let host: string;
let port: number;
const CAP = 4;

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env, ['--max-connections-per-address', String(CAP), '--api-request-timeout', '1s']);
  client = api(coordinator.url);
  const url = new URL(coordinator.url);
  host = url.hostname;
  port = Number(url.port);
  await startAgent(env, { allowShell: true });
}, 60_000);

afterAll(async () => env?.cleanup());

interface Idle {
  /** What the server sent before closing, once it has closed. */
  closed: Promise<string>;
}

async function openIdle(): Promise<Idle> {
  const socket = net.connect({ host, port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('utf8')));
  socket.on('error', () => undefined);
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  return { closed };
}

/** Settles with the value, or with 'still open' after ms. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'still open'> {
  return Promise.race([p, new Promise<'still open'>((r) => setTimeout(() => r('still open'), ms))]);
}

it('closes sockets past the per-address cap at once, and idle ones (408) after the request timeout', async () => {
  const held: Idle[] = [];
  for (let i = 0; i < CAP; i++) held.push(await openIdle());
  const excess: Idle[] = [];
  for (let i = 0; i < 3; i++) excess.push(await openIdle());
  // Past the cap: destroyed as they connect, without a word.
  expect(await Promise.all(excess.map((s) => within(s.closed, 15_000)))).toEqual(['', '', '']);
  // Within the cap: idle until the request timeout, then told 408 and closed.
  const answers = await Promise.all(held.map((s) => within(s.closed, 20_000)));
  for (const a of answers) expect(a).toMatch(/^HTTP\/1\.1 408/);
  // Their places are free again.
  expect((await client.get('/healthz')).status).toBe(200);
}, 60_000);

it('keeps a followed log stream open longer than the request timeout', async () => {
  const runs = runHelpers(client);
  const job = await runs.createJob({
    name: 'talks-slowly',
    executor: { type: 'exec', command: ['sh', '-c', 'echo first; sleep 3; echo last'] },
  });
  const runId = await runs.trigger(job);
  const started = Date.now();
  const res = await fetch(`${client.baseUrl}/v1/runs/${runId}/logs?follow=1`);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const text = await res.text(); // ends when the run does
  expect(Date.now() - started).toBeGreaterThan(1500);
  expect(text).toContain('last');
  expect(text).toMatch(/event: end\ndata: \{"state":"succeeded"\}/);
}, 60_000);
