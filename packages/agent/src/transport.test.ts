// The Moleculer link over the in-process bus, with a fake coordinator that signs its answers
// with a cluster key, another key, or not at all: the one place where answers are checked.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Errors, type Context, type ServiceBroker } from 'moleculer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SERVICES,
  createBroker,
  newAgentKeyPair,
  privateKeyFromPem,
  signMessage,
  signRefusal,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type ReportRequest,
} from '@drover/shared';
import { recordingLogger } from '../test/fake-link.js';
import { eventually } from '../test/fixtures.js';
import { loadIdentity } from './identity.js';
import { compileAgentOptions } from './options.js';
import { moleculerTransport, type AgentTransport } from './transport.js';

const USAGE = { cpuPercent: 0, load1: 0, memoryUsedBytes: 0, slotsUsed: 0 };

type Mode = 'signed' | 'rogue' | 'unsigned' | 'refuse-signed' | 'refuse-unsigned';

describe('moleculer transport', () => {
  let dir: string;
  let coordinator: ServiceBroker;
  let transport: AgentTransport;
  let mode: Mode;
  const heartbeats: HeartbeatRequest[] = [];
  const cluster = newAgentKeyPair();
  const clusterKey = privateKeyFromPem(cluster.privateKeyPem);
  const rogueKey = privateKeyFromPem(newAgentKeyPair().privateKeyPem);
  let lines: ReturnType<typeof recordingLogger>['lines'];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-transport-'));
    const clusterName = `transport-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    heartbeats.length = 0;
    coordinator = createBroker({ natsUrl: 'memory', cluster: clusterName, nodeId: 'coordinator', logLevel: 'error' });
    coordinator.createService({
      name: SERVICES.fleet,
      actions: {
        register: () => {
          throw new Error('not in these tests');
        },
        heartbeat: (ctx: Context<HeartbeatRequest>): HeartbeatResponse => {
          heartbeats.push(ctx.params);
          const re = ctx.params.auth?.nonce;
          if (mode === 'refuse-signed' || mode === 'refuse-unsigned') {
            const refusal = { type: 'AGENT_REVOKED', code: 403, message: 'this agent was revoked' };
            const data = mode === 'refuse-signed' ? signRefusal(clusterKey, 'agent-A', refusal, re, Date.now()) : {};
            throw new Errors.MoleculerClientError(refusal.message, refusal.code, refusal.type, data);
          }
          const answer: HeartbeatResponse = { known: false, stop: [], re };
          if (mode === 'unsigned') return answer;
          return {
            ...answer,
            auth: signMessage(mode === 'rogue' ? rogueKey : clusterKey, 'heartbeat-answer', 'agent-A', answer, Date.now()),
          };
        },
      },
    });
    coordinator.createService({
      name: SERVICES.runs,
      actions: {
        report: (ctx: Context<ReportRequest>) => {
          const refusal = { type: 'REPORT_REJECTED', code: 422, message: `cannot apply ${ctx.params.events.length} events` };
          const data = mode === 'refuse-signed' ? signRefusal(clusterKey, 'agent-A', refusal, ctx.params.auth?.nonce, Date.now()) : {};
          throw new Errors.MoleculerClientError(refusal.message, refusal.code, refusal.type, data);
        },
      },
    });
    await coordinator.start();
    const identity = await loadIdentity(dir);
    identity.expectCoordinatorKey(cluster.publicKey);
    const recorded = recordingLogger();
    lines = recorded.lines;
    const options = compileAgentOptions({ flags: { nats: 'memory', cluster: clusterName, 'state-dir': dir }, env: {} });
    transport = moleculerTransport({ options, agentId: 'A', nodeId: 'agent-A', identity, log: recorded.log });
    await transport.start();
  });

  afterEach(async () => {
    await transport.stop();
    await coordinator.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const beat = () =>
    transport.ask('heartbeat', {
      agentId: 'A',
      nodeId: 'agent-A',
      at: Date.now(),
      free: { slots: 1, cpu: 1, memoryBytes: 1 },
      usage: USAGE,
      runs: [],
    });

  it('signs what it asks, and acts only on answers signed with the pinned cluster key', async () => {
    await transport.announce();
    await eventually(() => transport.coordinatorOnBus(), 5_000, 'the coordinator on the bus');
    mode = 'unsigned';
    expect(await beat()).toMatchObject({ status: 'ignored', check: 'missing', from: 'coordinator' });
    mode = 'rogue';
    expect(await beat()).toMatchObject({ status: 'ignored', check: 'bad-signature' });
    expect(transport.lastHeardAt).toBeUndefined();
    // Said once per window, however many arrive.
    expect(lines.filter((l) => l.msg === 'ignored an answer to a heartbeat not signed with the pinned cluster key')).toHaveLength(1);
    expect(heartbeats.every((h) => h.auth?.agentId === 'A' && typeof h.auth.sig === 'string')).toBe(true);
    mode = 'signed';
    const before = performance.now();
    expect(await beat()).toMatchObject({ status: 'answered', answer: { known: false } });
    expect(transport.lastHeardAt).toBeGreaterThanOrEqual(before);
  });

  it('a refusal counts only when signed with the pinned key, a rejected report too (the outbox drops events only then)', async () => {
    await eventually(() => transport.coordinatorOnBus(), 5_000, 'the coordinator on the bus');
    mode = 'refuse-unsigned';
    const ignored = await beat();
    expect(ignored).toMatchObject({ status: 'ignored', check: 'missing' });
    expect(ignored.status === 'ignored' && ignored.err).toMatchObject({ type: 'AGENT_REVOKED' });
    expect(await transport.ask('report', { agentId: 'A', events: [] })).toMatchObject({
      status: 'ignored',
      check: 'missing',
      err: { type: 'REPORT_REJECTED', code: 422 },
    });
    mode = 'refuse-signed';
    expect(await beat()).toMatchObject({ status: 'refused', err: { type: 'AGENT_REVOKED', code: 403 } });
    expect(transport.lastHeardAt).toBeUndefined();
    expect(await transport.ask('report', { agentId: 'A', events: [] })).toMatchObject({
      status: 'refused',
      err: { type: 'REPORT_REJECTED', code: 422 },
    });
  });
});
