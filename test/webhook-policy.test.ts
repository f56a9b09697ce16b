// Webhook actions and the coordinator's address policy, against a real coordinator without
// `--webhook-allow`: a webhook to loopback, private, link-local or metadata addresses (by address
// or by a host name resolving to one) fails at once, saying which address and how to allow it,
// and no connection is ever made. (The harness allows loopback for every other test.)
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, runHelpers, startAgent, startCoordinator, waitFor, type ApiClient, type TestEnv } from './support/index.js';

interface ActionRun {
  state: 'pending' | 'succeeded' | 'failed';
  tries: number;
  lastError: string | null;
  lastStatus: number | null;
}

let env: TestEnv;
let client: ApiClient;
let port: number;
let connections = 0;

beforeAll(async () => {
  env = await createTestEnv();
  // A bare TCP listener on loopback that counts whoever connects.
  const listener = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  env.onCleanup(() => new Promise<void>((resolve) => listener.close(() => resolve())));
  port = (listener.address() as AddressInfo).port;
  // '' is the default policy: the harness's loopback rule is not passed.
  const coordinator = await startCoordinator(env, { env: { DROVER_WEBHOOK_ALLOW: '' } });
  client = api(coordinator.url);
  await startAgent(env, { slots: 4 });
}, 60_000);

afterAll(async () => env?.cleanup());

async function webhookOutcome(name: string, url: string): Promise<ActionRun> {
  const runs = runHelpers(client);
  const job = await runs.createJob({
    name,
    executor: { type: 'noop' },
    actions: [{ trigger: 'on_success', type: 'webhook', url }],
  });
  const runId = await runs.trigger(job);
  expect((await runs.waitForRun(runId)).state).toBe('succeeded');
  return waitFor(
    async () => {
      const [a] = (await client.get<{ items: ActionRun[] }>(`/v1/runs/${runId}/actions`)).body.items;
      return a && a.state !== 'pending' ? a : undefined;
    },
    { timeoutMs: 20_000, description: `the webhook of ${name} to finish` },
  );
}

it.each([
  ['loopback', () => `http://127.0.0.1:${port}/hook`, '127.0.0.1 is a loopback address'],
  ['a host name resolving to loopback', () => `http://localhost:${port}/hook`, 'is a loopback address; allow it with --webhook-allow'],
  ['IPv4-mapped loopback', () => `http://[::ffff:127.0.0.1]:${port}/hook`, 'is a loopback address'],
  ['a private address', () => 'http://10.1.2.3:5432/', '10.1.2.3 is a private address'],
  ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/', '169.254.169.254 is a cloud metadata address'],
  ['the unspecified address', () => `http://0.0.0.0:${port}/`, '0.0.0.0 is an unspecified address'],
])('refuses a webhook to %s, once, saying why, without connecting', async (name, url, reason) => {
  const action = await webhookOutcome(`blocked-${name.replace(/[^a-z0-9]+/gi, '-')}`, url());
  expect(action).toMatchObject({ state: 'failed', tries: 1, lastStatus: null });
  expect(action.lastError).toContain(`POST ${url()}: blocked: `);
  expect(action.lastError).toContain(reason);
  expect(action.lastError).toContain('allow it with --webhook-allow');
  expect(connections).toBe(0);
});

it('says exactly what the refusal of loopback looks like', async () => {
  const url = `http://127.0.0.1:${port}/exact`;
  const action = await webhookOutcome('blocked-exact', url);
  expect(action.lastError).toBe(
    `POST ${url}: blocked: 127.0.0.1 is a loopback address; allow it with --webhook-allow (DROVER_WEBHOOK_ALLOW)`,
  );
  expect(connections).toBe(0);
});
