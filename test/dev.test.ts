// `drover dev`: one process with a coordinator and a local agent that may run shell jobs.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  makeStateDir,
  spawnDrover,
  waitFor,
  type ApiClient,
  type DroverProcess,
  type TestEnv,
} from './support/index.js';

let env: TestEnv;
let dev: DroverProcess;
let client: ApiClient;

beforeAll(async () => {
  env = await createTestEnv();
  dev = spawnDrover(env, ['dev', '--api-addr', '127.0.0.1:0', '--state-dir', makeStateDir(env, 'dev')], { name: 'dev' });
  const line = await dev.waitForLine((l) => /^\s+API\s+http:\/\//.test(l.text));
  client = api(/(http:\/\/\S+)/.exec(line.text)?.[1] ?? '');
});
afterAll(async () => env?.cleanup());

it('runs a shell job on its local agent and returns its output', async () => {
  expect((await client.post('/v1/jobs', { name: 'hello', executor: { type: 'shell', script: 'echo "hello from dev"' } })).status).toBe(201);
  const run = (await client.post<{ id: string }>('/v1/jobs/hello/runs')).body;
  const done = await waitFor(async () => {
    const r = (await client.get<{ state: string }>(`/v1/runs/${run.id}`)).body;
    return r.state === 'succeeded' || r.state === 'failed' ? r : undefined;
  });
  expect(done.state).toBe('succeeded');
  const logs = (await client.get<{ items: Array<{ data: string }> }>(`/v1/runs/${run.id}/logs`)).body.items;
  expect(logs.map((l) => l.data).join('')).toBe('hello from dev\n');
});

it('stops cleanly on SIGTERM', async () => {
  const status = await dev.stop();
  expect(status.code).toBe(0);
  expect(dev.lines.map((l) => l.text).join('\n')).toContain('stopping');
});
