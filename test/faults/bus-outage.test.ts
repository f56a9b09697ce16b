// A bus blip costs nothing: the whole bus (a private nats-server) is down for 20 s while runs
// execute, with the default disconnect rule. No attempt is stopped, none is re-dispatched: each
// run executes once, at attempt 1, and succeeds. The agents' longest silence (the age of their
// last coordinator answer) is printed: it is what the default `disconnect.after` must exceed.
// The coordinator, cut off too, holds nobody's silence against them (fair liveness): no agent
// goes down, so even a `keep` run, re-dispatched as soon as its agent is down, runs once.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  freePort,
  markingExecutor,
  overlappingExecutions,
  readExecutions,
  runHelpers,
  startAgent,
  startCoordinator,
  startPrivateNats,
  startReceiver,
  waitFor,
  type ApiClient,
  type DroverProcess,
  type Receiver,
  type Run,
  type StartedAgent,
  type TestEnv,
} from '../support/index.js';

const OUTAGE_MS = 20_000;

let env: TestEnv;
let client: ApiClient;
let port: number;
let agents: StartedAgent[];
let metricsUrls: string[];
let nats: DroverProcess;
let fleetHook: Receiver;

beforeAll(async () => {
  env = await createTestEnv();
  port = await freePort();
  nats = await startPrivateNats(env, port);
  const url = `nats://127.0.0.1:${port}`;
  fleetHook = await startReceiver(env);
  // Default liveness and disconnect settings: what a real cluster would do.
  client = api((await startCoordinator(env, ['--nats', url, '--notify-url', fleetHook.url])).url);
  agents = await Promise.all(
    [1, 2].map((i) =>
      startAgent(env, {
        name: `agent-${i}`,
        slots: 2,
        labels: { pool: 'outage' },
        extraArgs: ['--nats', url, '--metrics-addr', '127.0.0.1:0'],
      }),
    ),
  );
  metricsUrls = await Promise.all(agents.map(async (a) => String((await a.proc.waitForLog('metrics listening')).url)));
});
afterAll(async () => env?.cleanup());

/** Seconds since each agent last heard a coordinator, from its own metrics. */
async function ackAges(): Promise<number[]> {
  return Promise.all(
    metricsUrls.map(async (u) => {
      const text = await (await fetch(`${u}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('drover_agent_heartbeat_ack_age_seconds '));
      return Number(line?.split(' ')[1] ?? NaN);
    }),
  );
}

it('rides out a 20 s outage of the whole bus: nothing stopped, each run executed once', { timeout: 180_000 }, async () => {
  const marks = join(mkdtempSync(join(tmpdir(), 'drover-outage-')), 'marks');
  const runs = runHelpers(client);
  const jobId = await runs.createJob({
    name: 'through-an-outage',
    executor: markingExecutor(marks, 35),
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'outage' }],
  });
  const keepJobId = await runs.createJob({
    name: 'keeps-through-an-outage',
    executor: markingExecutor(marks, 35),
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'outage' }],
    disconnect: { mode: 'keep' },
  });
  const ids = [
    ...(await client.post<{ runs: Array<{ id: string }> }>('/v1/runs/batch', { runs: [{ job: jobId, count: 3 }] })).body.runs.map(
      (r) => r.id,
    ),
    await runs.trigger(keepJobId),
  ];
  await waitFor(async () => (readExecutions(marks).length === 4 ? true : undefined), { description: 'the 4 runs to start' });

  // The bus goes away for 20 s and comes back on the same port.
  const stoppedAt = Date.now();
  await nats.stop(1000);
  let maxAge = 0;
  const sample = setInterval(() => {
    void ackAges()
      .then((ages) => (maxAge = Math.max(maxAge, ...ages.filter(Number.isFinite))))
      .catch(() => undefined);
  }, 250);
  await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - stoppedAt)));
  nats = await startPrivateNats(env, port);
  const backAt = Date.now();
  // Until every agent has heard a coordinator again.
  await waitFor(async () => ((await ackAges()).every((a) => a < 3) ? true : undefined), {
    timeoutMs: 60_000,
    description: 'every agent to hear a coordinator again',
  });
  clearInterval(sample);
  console.log(
    `bus down ${backAt - stoppedAt} ms; agents heard a coordinator again ${Date.now() - backAt} ms after it was back; ` +
      `longest silence an agent saw: ${maxAge.toFixed(1)} s (the default disconnect.after must exceed it)`,
  );

  const ended = await waitFor(
    async () => {
      const all = await Promise.all(ids.map(async (id) => (await client.get<Run>(`/v1/runs/${id}`)).body));
      return all.every((r) => !['queued', 'offered', 'running', 'retrying'].includes(r.state)) ? all : undefined;
    },
    { timeoutMs: 90_000, description: 'every run to end' },
  );
  expect(ended.map((r) => [r.state, r.attempt])).toEqual(ids.map(() => ['succeeded', 1]));
  const executions = readExecutions(marks);
  expect(executions.map((e) => `${e.runId}:${e.attempt}:${e.how}`).sort()).toEqual(ids.map((id) => `${id}:1:finished`).sort());
  expect(overlappingExecutions(executions)).toEqual([]);
  // Nobody was declared down for the coordinator's own deafness.
  expect(fleetHook.requests.map((r) => (r.body as { event?: string }).event)).not.toContain('agent.down');
});
