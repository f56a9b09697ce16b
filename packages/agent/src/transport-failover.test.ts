// Two coordinators on the in-process bus, one of them hung (it takes heartbeats and never
// answers, as a killed node does until Moleculer notices it is gone): every heartbeat is still
// answered, by the live one, and the hung one is asked once, then passed over.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, ServiceBroker } from 'moleculer';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  SERVICES,
  createBroker,
  newAgentKeyPair,
  privateKeyFromPem,
  signMessage,
  type HeartbeatRequest,
  type HeartbeatResponse,
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
const cluster = newAgentKeyPair();
const clusterKey = privateKeyFromPem(cluster.privateKeyPem);

function coordinator(namespace: string, nodeId: string, hung: boolean): ServiceBroker {
  const broker = createBroker({ natsUrl: 'memory', namespace, nodeId, logLevel: 'error' });
  broker.createService({
    name: SERVICES.fleet,
    actions: {
      register: () => {
        throw new Error('not in this test');
      },
      heartbeat: (ctx: Context<HeartbeatRequest>): Promise<HeartbeatResponse> => {
        if (hung) {
          asked.hung++;
          return new Promise(() => undefined);
        }
        asked.live++;
        const answer: HeartbeatResponse = { known: true, stop: [], re: ctx.params.auth?.nonce };
        return Promise.resolve({ ...answer, auth: signMessage(clusterKey, 'heartbeat-answer', 'agent-A', answer, Date.now()) });
      },
    },
  });
  return broker;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'drover-failover-'));
  const namespace = `failover-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  asked.live = asked.hung = 0;
  coordinators = [coordinator(namespace, 'coordinator-hung', true), coordinator(namespace, 'coordinator-live', false)];
  for (const c of coordinators) await c.start();
  const identity = await loadIdentity(dir);
  identity.expectCoordinatorKey(cluster.publicKey);
  const recorded = recordingLogger();
  lines = recorded.lines;
  const options = compileAgentOptions({ flags: { nats: 'memory', namespace, 'state-dir': dir }, env: {} });
  transport = moleculerTransport({ options, agentId: 'A', nodeId: 'agent-A', identity, log: recorded.log });
  await transport.start();
});

afterEach(async () => {
  await transport.stop();
  for (const c of coordinators) await c.stop();
  await rm(dir, { recursive: true, force: true });
});

it('asks another coordinator when one does not answer in time, and passes the silent one over', { timeout: 30_000 }, async () => {
  await eventually(() => transport.coordinatorOnBus(), 5_000, 'the coordinators on the bus');
  // Both coordinators known to the agent's registry before the first beat.
  await new Promise((r) => setTimeout(r, 200));
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
