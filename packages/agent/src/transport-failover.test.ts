// Two coordinators on the in-process bus, one of them hung (it takes heartbeats and never
// answers, as a killed node does until Moleculer notices it is gone): every heartbeat is still
// answered, by the live one, and the hung one is asked once, then passed over. A registration
// fails over the same way; but a slow coordinator that is the only one is waited for in full.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, ServiceBroker } from 'moleculer';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  SERVICES,
  createBroker,
  newAgentKeyPair,
  privateKeyFromPem,
  signMessage,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type RegisterRequest,
  type RegisterResponse,
} from '@drover/shared';
import { recordingLogger } from '../test/fake-link.js';
import { eventually } from '../test/fixtures.js';
import { loadIdentity } from './identity.js';
import { compileAgentOptions } from './options.js';
import { moleculerTransport, type AgentTransport } from './transport.js';

const USAGE = { cpuPercent: 0, load1: 0, memoryUsedBytes: 0, slotsUsed: 0 };

let dir: string;
let coordinators: ServiceBroker[];
let transport: AgentTransport;
let lines: ReturnType<typeof recordingLogger>['lines'];
const asked = { live: 0, hung: 0 };
/** What each coordinator does with what it is asked: answer, never answer, or answer after a while. */
type Behaviour = 'live' | 'hung' | { slowMs: number };
const cluster = newAgentKeyPair();
const clusterKey = privateKeyFromPem(cluster.privateKeyPem);

function coordinator(clusterName: string, nodeId: string, behaviour: Behaviour): ServiceBroker {
  const broker = createBroker({ natsUrl: 'memory', cluster: clusterName, nodeId, logLevel: 'error' });
  const answer = async <T extends { re?: string }>(kind: 'heartbeat-answer' | 'registered', body: T): Promise<T> => {
    if (behaviour === 'hung') {
      asked.hung++;
      return new Promise(() => undefined);
    }
    asked.live++;
    if (behaviour !== 'live') await new Promise((r) => setTimeout(r, behaviour.slowMs));
    return { ...body, auth: signMessage(clusterKey, kind, 'agent-A', body, Date.now()) };
  };
  broker.createService({
    name: SERVICES.fleet,
    actions: {
      register: (ctx: Context<RegisterRequest>): Promise<RegisterResponse> =>
        answer('registered', { agentId: 'A', heartbeatIntervalMs: 1000, stop: [], re: ctx.params.auth?.nonce }),
      heartbeat: (ctx: Context<HeartbeatRequest>): Promise<HeartbeatResponse> =>
        answer('heartbeat-answer', { known: true, stop: [], re: ctx.params.auth?.nonce }),
    },
  });
  return broker;
}

/** Starts coordinators of these behaviours and an agent's transport, on a bus of their own. */
async function startBus(behaviours: Record<string, Behaviour>): Promise<void> {
  const clusterName = `failover-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  coordinators = Object.entries(behaviours).map(([nodeId, b]) => coordinator(clusterName, nodeId, b));
  for (const c of coordinators) await c.start();
  const identity = await loadIdentity(dir);
  identity.expectCoordinatorKey(cluster.publicKey);
  const recorded = recordingLogger();
  lines = recorded.lines;
  const options = compileAgentOptions({ flags: { nats: 'memory', cluster: clusterName, 'state-dir': dir }, env: {} });
  transport = moleculerTransport({ options, agentId: 'A', nodeId: 'agent-A', identity, log: recorded.log });
  await transport.start();
  await eventually(() => transport.coordinatorOnBus(), 5_000, 'the coordinators on the bus');
  // Every coordinator known to the agent's registry before the first ask.
  await new Promise((r) => setTimeout(r, 200));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'drover-failover-'));
  asked.live = asked.hung = 0;
  coordinators = [];
});

afterEach(async () => {
  await transport?.stop();
  for (const c of coordinators) await c.stop();
  await rm(dir, { recursive: true, force: true });
});

const CAPACITY = { slots: 1, cpu: 1, memoryBytes: 1 };
const registration = (): RegisterRequest => ({
  protocol: PROTOCOL_VERSION,
  agentId: 'A',
  nodeId: 'agent-A',
  name: 'a',
  version: '0',
  attributes: {},
  labels: {},
  executors: [],
  total: CAPACITY,
  free: CAPACITY,
  runs: [],
});

it('asks another coordinator when one does not answer in time, and passes the silent one over', { timeout: 30_000 }, async () => {
  await startBus({ 'coordinator-hung': 'hung', 'coordinator-live': 'live' });
  const replies = [];
  for (let i = 0; i < 6; i++)
    replies.push(
      await transport.ask('heartbeat', {
        agentId: 'A',
        nodeId: 'agent-A',
        at: Date.now(),
        free: { slots: 1, cpu: 1, memoryBytes: 1 },
        usage: USAGE,
        runs: [],
      }),
    );
  expect(replies.map((r) => r.status)).toEqual(Array(6).fill('answered'));
  expect(asked.live).toBe(6);
  expect(asked.hung).toBe(1);
  expect(lines.filter((l) => l.msg === 'a coordinator did not answer in time; asking another')).toEqual([
    expect.objectContaining({ ask: 'heartbeat', unanswered: 'coordinator-hung', askingNow: 'coordinator-live' }),
  ]);
});

it('registers with another coordinator when one does not answer in time', { timeout: 30_000 }, async () => {
  await startBus({ 'coordinator-hung': 'hung', 'coordinator-live': 'live' });
  const replies = [];
  const started = performance.now();
  for (let i = 0; i < 4; i++) replies.push(await transport.ask('register', registration()));
  const tookMs = performance.now() - started;
  expect(replies.map((r) => r.status)).toEqual(Array(4).fill('answered'));
  expect(asked).toEqual({ live: 4, hung: 1 });
  expect(lines.filter((l) => l.msg === 'a coordinator did not answer in time; asking another')).toEqual([
    expect.objectContaining({ ask: 'registration', unanswered: 'coordinator-hung', askingNow: 'coordinator-live' }),
  ]);
  // Not asserted (timings are noisy): one short wait for the hung one, not Moleculer's 10 s.
  console.log(`4 registrations, one first asked of a hung coordinator, took ${Math.round(tookMs)} ms`);
});

it('waits for a slow coordinator in full when it is the only one', { timeout: 30_000 }, async () => {
  // Slower than the wait before failing over, faster than Moleculer's request timeout.
  await startBus({ 'coordinator-slow': { slowMs: 4_500 } });
  const reply = await transport.ask('register', registration());
  expect(reply.status).toBe('answered');
  expect(asked.live).toBe(1);
});
