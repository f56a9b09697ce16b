// A report event the coordinator cannot apply never blocks anything: a stand-in agent (a
// Moleculer broker speaking the real protocol, as in fencing.test.ts) reports a batch with
// events PostgreSQL refuses (an int column overflowed by a log seq and a duration) and a
// malformed one among good events. The bad ones are isolated, recorded on their runs and
// counted in /metrics; the rest of the batch applies, a rejected result still ends its attempt,
// later reports flow, and a real agent's exec run (its start recorded in a marks file) too.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ServiceBroker } from 'moleculer';
import {
  ACTIONS,
  PROTOCOL_VERSION,
  SERVICES,
  createBroker,
  type AgentEvent,
  type OfferRequest,
  type OfferResponse,
  type ReportResponse,
  type RunOffer,
} from '@drover/shared';
import {
  api,
  createTestEnv,
  DROVER_BIN,
  finishedEvent,
  runHelpers,
  startAgent,
  startCoordinator,
  waitFor,
  type ApiClient,
  type TestEnv,
} from './support/index.js';
import { parsePrometheus, sumOf } from './support/prometheus.js';

let env: TestEnv;
let client: ApiClient;
let h: ReturnType<typeof runHelpers>;
let broker: ServiceBroker;
let coordinatorUrl: string;
let dir: string;
const offers: RunOffer[] = [];
const capacity = { slots: 8, cpu: 2, memoryBytes: 2 ** 30 };
const FAKE = [{ attribute: 'label.role', operator: '=', value: 'fake' }];

interface RunView {
  state: string;
  error: string | null;
  rejectedEvents: Array<{ kind: string; token: number | null; seq: number | null; agentId: string; reason: string }>;
}

beforeAll(async () => {
  env = await createTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'drover-isolation-'));
  env.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  // The stand-in agent never heartbeats: a long down-deadline keeps it ready (and offered runs)
  // however long the steps before its last offer take on a loaded machine (the default is 7 s).
  coordinatorUrl = (await startCoordinator(env, ['--agent-down-after', '10m'])).url;
  client = api(coordinatorUrl);
  h = runHelpers(client);
  broker = createBroker({ natsUrl: env.natsUrl, cluster: env.namespace, nodeId: 'agent-forger' });
  broker.createService({
    name: SERVICES.agent,
    actions: {
      offer: {
        handler(ctx: { params: OfferRequest }): OfferResponse {
          offers.push(...ctx.params.offers);
          return {
            accepted: ctx.params.offers.map((o) => o.runId),
            refused: [],
            capacity: { agentId: 'forger', version: offers.length, free: capacity },
          };
        },
      },
      stop: { handler: () => ({}) },
    },
  });
  await broker.start();
  await broker.waitForServices([SERVICES.fleet, SERVICES.runs]);
  await broker.call(ACTIONS.register, {
    protocol: PROTOCOL_VERSION,
    agentId: 'forger',
    nodeId: 'agent-forger',
    // NUL in its name and a label: stored as U+FFFD rather than refusing the registration.
    name: 'forger\u0000x',
    version: 'test',
    attributes: { os: 'linux', 'label.role': 'fake', 'label.note': 'a\u0000b' },
    labels: { role: 'fake', note: 'a\u0000b' },
    executors: ['noop'],
    total: capacity,
    free: capacity,
    runs: [],
  });
  await startAgent(env, { labels: { pool: 'real' }, allowShell: true });
});
afterAll(async () => {
  await broker?.stop();
  await env?.cleanup();
});

const report = (events: unknown[]): Promise<ReportResponse> => broker.call(ACTIONS.report, { agentId: 'forger', events });

/** Triggers a run of a fresh noop job for the stand-in agent and waits for its offer. */
async function offeredRun(name: string): Promise<RunOffer> {
  const jobId = await h.createJob({ name, executor: { type: 'noop' }, constraints: FAKE });
  const runId = await h.trigger(jobId);
  return waitFor(() => offers.find((o) => o.runId === runId), { description: `the offer of ${name}` });
}

async function rejectedCount(kind: string): Promise<number> {
  return sumOf(parsePrometheus(await (await fetch(`${coordinatorUrl}/metrics`)).text()), 'drover_report_events_rejected_total', { kind });
}

it('isolates events it cannot apply, records and counts them, and applies the rest', { timeout: 60_000 }, async () => {
  const poisoned = await offeredRun('poisoned');
  const healthy = await offeredRun('healthy');
  const at = Date.now();
  const log = (runId: string, token: number, seq: number, data: string): AgentEvent => ({
    kind: 'log',
    runId,
    token,
    seq,
    stream: 'stdout',
    data,
    at,
  });
  const answer = await report([
    { kind: 'started', runId: poisoned.runId, token: poisoned.token, at },
    log(poisoned.runId, poisoned.token, 0, 'kept\n'),
    log(poisoned.runId, poisoned.token, 2 ** 31, 'seq overflows int\n'),
    { kind: 'started', runId: healthy.runId, token: healthy.token, at },
    { kind: 'bogus', runId: healthy.runId, token: healthy.token },
    finishedEvent(poisoned.runId, poisoned.token, { at: at + 5, durationMs: 1e15 }),
    log(healthy.runId, healthy.token, 0, 'healthy\n'),
    finishedEvent(healthy.runId, healthy.token, { at: at + 5, durationMs: 5 }),
  ]);
  expect(answer.stale).toEqual([]);
  expect(answer.rejected?.map((r) => [r.runId, r.kind, r.seq])).toEqual([
    [healthy.runId, 'bogus', undefined],
    [poisoned.runId, 'log', 2 ** 31],
    [poisoned.runId, 'finished', undefined],
  ]);
  expect(answer.rejected?.[1]?.reason).toMatch(/out of range/);

  // The rest of the batch applied: the healthy run succeeded with its output.
  expect((await h.getRun(healthy.runId)).state).toBe('succeeded');
  expect((await h.allLogs(healthy.runId)).map((c) => c.data)).toEqual(['healthy\n']);
  // The rejected result still ended its attempt, failed, saying why; the good chunk is kept.
  const run = (await client.get<RunView>(`/v1/runs/${poisoned.runId}`)).body;
  expect(run.state).toBe('failed');
  expect(run.error).toMatch(/result could not be stored \(.*out of range/);
  expect((await h.allLogs(poisoned.runId)).map((c) => c.data)).toEqual(['kept\n']);
  expect(run.rejectedEvents.map((r) => [r.kind, r.token, r.seq, r.agentId])).toEqual([
    ['log', poisoned.token, 2 ** 31, 'forger'],
    ['finished', poisoned.token, null, 'forger'],
  ]);
  expect((await client.get<RunView>(`/v1/runs/${healthy.runId}`)).body.rejectedEvents).toMatchObject([
    { kind: 'bogus', reason: 'malformed event: its kind must be started, log or finished' },
  ]);
  expect([await rejectedCount('log'), await rejectedCount('finished'), await rejectedCount('malformed')]).toEqual([1, 1, 1]);
  // `drover runs get` shows them too.
  const { stdout } = await promisify(execFile)(process.execPath, [DROVER_BIN, 'runs', 'get', poisoned.runId], {
    env: { ...process.env, DROVER_ADDR: coordinatorUrl },
  });
  expect(stdout).toContain('REPORTED EVENTS THAT COULD NOT BE STORED');
  expect(stdout).toMatch(/log 2147483648\s+forger\s+value "2147483648" is out of range/);

  // Later reports of the same agent flow.
  const later = await offeredRun('later');
  const next = await report([
    { kind: 'started', runId: later.runId, token: later.token, at: Date.now() },
    finishedEvent(later.runId, later.token, { durationMs: 2 }),
  ]);
  expect(next).toMatchObject({ stale: [] });
  expect(next.rejected).toBeUndefined();
  expect((await h.getRun(later.runId)).state).toBe('succeeded');

  // And a real agent's exec run, started once.
  const marks = join(dir, 'marks');
  const jobId = await h.createJob({
    name: 'real-after-poison',
    executor: { type: 'exec', command: ['sh', '-c', `echo "$DROVER_RUN_ID" >> "${marks}"; echo fine`] },
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'real' }],
  });
  const real = await h.waitForRun(await h.trigger(jobId));
  expect(real.state).toBe('succeeded');
  expect(
    readFileSync(marks, 'utf8')
      .split('\n')
      .filter((l) => l === real.id),
  ).toHaveLength(1);
});

it("stores an agent's name and labels with NUL replaced, and takes its heartbeats", async () => {
  const agents = (await client.get<{ items: Array<{ id: string; name: string; labels: Record<string, string> }> }>('/v1/agents')).body
    .items;
  expect(agents.find((a) => a.id === 'forger')).toMatchObject({ name: 'forger\uFFFDx', labels: { role: 'fake', note: 'a\uFFFDb' } });
  const beat = await broker.call<{ known: boolean }, unknown>(ACTIONS.heartbeat, {
    agentId: 'forger',
    nodeId: 'agent-forger',
    at: Date.now(),
    free: capacity,
    usage: { cpuPercent: 0, load1: 0, memoryUsedBytes: 0, slotsUsed: 0 },
    runs: [{ runId: 'no-such-run\u0000', token: 1 }],
  });
  expect(beat.known).toBe(true);
});

it('answers a report it cannot read at all with the 422 REPORT_REJECTED error', async () => {
  const err = await report('not a list' as unknown as unknown[]).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 422, type: 'REPORT_REJECTED' });
});
