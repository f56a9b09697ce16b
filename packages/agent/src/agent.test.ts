// The agent end to end against the real NATS server, with a fake coordinator: a Moleculer
// broker in this test providing drover.fleet and drover.runs in a cluster of its own.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Errors, type Context, type ServiceBroker } from 'moleculer';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACTIONS,
  EVENTS,
  PROTOCOL_VERSION,
  SERVICES,
  createBroker,
  type AgentEvent,
  type CapacityEvent,
  type FinishedEvent,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type OfferResponse,
  type RegisterRequest,
  type RegisterResponse,
  type ReportRequest,
  type ReportResponse,
} from '@drover/shared';
import { startAgent, type AgentHandle } from './agent.js';
import { compileAgentOptions } from './options.js';
import { eventually, makeOffer } from '../test/fixtures.js';

const NATS = process.env.DROVER_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

interface FakeCoordinator {
  broker: ServiceBroker;
  registrations: RegisterRequest[];
  heartbeats: HeartbeatRequest[];
  /** Every report call, failed ones included, in arrival order. */
  reports: Array<{ events: AgentEvent[]; failed: boolean }>;
  capacity: CapacityEvent[];
  failReports: number;
  unknownHeartbeats: number;
  refuse?: string;
  delivered(): AgentEvent[];
}

async function fakeCoordinator(cluster: string): Promise<FakeCoordinator> {
  const broker = createBroker({ natsUrl: NATS, cluster, nodeId: 'fake-coordinator', logLevel: 'error' });
  const fake: FakeCoordinator = {
    broker,
    registrations: [],
    heartbeats: [],
    reports: [],
    capacity: [],
    failReports: 0,
    unknownHeartbeats: 0,
    delivered: () => fake.reports.filter((r) => !r.failed).flatMap((r) => r.events),
  };
  broker.createService({
    name: SERVICES.fleet,
    actions: {
      register: (ctx: Context<RegisterRequest>): RegisterResponse => {
        if (fake.refuse) throw new Errors.MoleculerClientError(fake.refuse, 426, 'PROTOCOL_MISMATCH');
        fake.registrations.push(ctx.params);
        return { agentId: ctx.params.agentId, heartbeatIntervalMs: 200, stop: [] };
      },
      heartbeat: (ctx: Context<HeartbeatRequest>): HeartbeatResponse => {
        fake.heartbeats.push(ctx.params);
        if (fake.unknownHeartbeats > 0) {
          fake.unknownHeartbeats--;
          return { known: false, stop: [] };
        }
        return { known: true, stop: [] };
      },
    },
  });
  broker.createService({
    name: SERVICES.runs,
    actions: {
      report: (ctx: Context<ReportRequest>): ReportResponse => {
        const failed = fake.failReports > 0;
        fake.reports.push({ events: ctx.params.events, failed });
        if (failed) {
          fake.failReports--;
          throw new Error('coordinator database unavailable');
        }
        return { stale: [] };
      },
    },
    events: {
      [EVENTS.capacity]: (ctx: Context<CapacityEvent>) => {
        fake.capacity.push(ctx.params);
      },
    },
  });
  await broker.start();
  return fake;
}

function clusterName(): string {
  return `agent-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Events of one run as the coordinator received them from successful calls. */
function eventsOf(fake: FakeCoordinator, runId: string): AgentEvent[] {
  return fake.delivered().filter((e) => e.runId === runId);
}

function output(events: AgentEvent[], stream: 'stdout' | 'stderr'): string {
  return events.flatMap((e) => (e.kind === 'log' && e.stream === stream ? [e.data] : [])).join('');
}

describe('agent against a real NATS server', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function setup(opts: { refuse?: string; nats?: string } = {}) {
    const cluster = clusterName();
    const stateDir = await mkdtemp(join(tmpdir(), 'drover-agent-'));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    const fake = await fakeCoordinator(cluster);
    fake.refuse = opts.refuse;
    cleanups.push(() => fake.broker.stop());
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    });
    const options = compileAgentOptions({
      flags: {
        nats: opts.nats ?? NATS,
        cluster,
        'state-dir': stateDir,
        label: ['pool=test', 'region=eu'],
        slots: '2',
        'heartbeat-interval': '1s',
        // Jobs run as the test's own user.
        'allow-same-user': true,
      },
      env: {},
    });
    const agent = await startAgent(options, pino({ level: 'info' }, sink), { killGraceMs: 2_000 });
    cleanups.push(() => agent.stop({ graceMs: 0 }));
    return { fake, agent, lines, stateDir, cluster };
  }

  async function offer(fake: FakeCoordinator, agent: AgentHandle, offers: ReturnType<typeof makeOffer>[]): Promise<OfferResponse> {
    return fake.broker.call<OfferResponse, { offers: typeof offers }>(ACTIONS.offer, { offers }, { nodeID: agent.nodeId });
  }

  it('repeats its free capacity with every heartbeat, so a dispatcher that missed a change learns it', async () => {
    const { fake, agent } = await setup();
    await agent.registered;
    // No offer, so nothing changed: only the heartbeats can have sent these.
    await eventually(
      () => fake.capacity.filter((c) => c.agentId === agent.agentId && c.free.slots === 2).length >= 2,
      10_000,
      'repeated capacity broadcasts',
    );
    expect(fake.capacity.every((c) => c.version === 0)).toBe(true);
  });

  it('registers, runs an offered job and reports it; the outbox resends after failed reports', async () => {
    const { fake, agent, lines, stateDir } = await setup();
    await agent.registered;

    // Registration: protocol, persisted id, fingerprint and labels, executors, capacity.
    const reg = fake.registrations[0] as RegisterRequest;
    expect(reg).toMatchObject({
      protocol: PROTOCOL_VERSION,
      agentId: agent.agentId,
      nodeId: `agent-${agent.agentId}`,
      labels: { pool: 'test', region: 'eu' },
      runs: [],
    });
    expect(reg.agentId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    // Least privilege by default: shell and http only when allowed (--allow-shell, --allow-http).
    expect(reg.executors.sort()).toEqual(['exec', 'noop']);
    expect(reg.total.slots).toBe(2);
    expect(reg.free).toEqual(reg.total);
    for (const key of ['cpu.cores', 'cpu.model', 'memory.bytes', 'os', 'os.release', 'arch', 'gpu.count', 'hostname', 'drover.version'])
      expect(reg.attributes).toHaveProperty([key]);
    expect(reg.attributes['label.pool']).toBe('test');
    expect(lines.find((l) => l.msg === 'agent registered')).toMatchObject({ agentId: agent.agentId });
    expect((await stat(join(stateDir, 'agent-id'))).mode & 0o777).toBe(0o600);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);

    await eventually(() => fake.heartbeats.length > 0, 10_000, 'a heartbeat');
    expect(fake.heartbeats[0]).toMatchObject({ agentId: agent.agentId, runs: [], free: reg.total });
    expect(fake.heartbeats[0]?.usage).toMatchObject({ slotsUsed: 0 });

    // An exec job: started, ordered logs, finished with exit code 0.
    const job = makeOffer({ executor: { type: 'exec', command: ['sh', '-c', 'echo one; echo two >&2; exit 0'] } });
    const res = await offer(fake, agent, [job]);
    expect(res.accepted).toEqual([job.runId]);
    expect(res.capacity.free.slots).toBe(1);
    await eventually(() => eventsOf(fake, job.runId).some((e) => e.kind === 'finished'), 15_000, 'the finished event');
    const events = eventsOf(fake, job.runId);
    expect(events[0]?.kind).toBe('started');
    expect(events.at(-1)).toMatchObject({ kind: 'finished', outcome: 'succeeded', exitCode: 0, token: job.token });
    const logs = events.filter((e) => e.kind === 'log');
    expect(logs.map((l) => (l.kind === 'log' ? l.seq : -1))).toEqual(logs.map((_, i) => i));
    expect(output(events, 'stdout')).toBe('one\n');
    expect(output(events, 'stderr')).toBe('two\n');
    await eventually(() => fake.capacity.some((c) => c.free.slots === 2 && c.agentId === agent.agentId), 10_000, 'a capacity broadcast');

    // The coordinator fails the next two reports: the same events arrive again, in order.
    fake.failReports = 2;
    const before = fake.reports.length;
    const second = makeOffer({ executor: { type: 'exec', command: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; done; exit 4'] } });
    expect((await offer(fake, agent, [second])).accepted).toEqual([second.runId]);
    await eventually(() => eventsOf(fake, second.runId).some((e) => e.kind === 'finished'), 20_000, 'the resent finished event');
    const calls = fake.reports.slice(before);
    expect(calls.slice(0, 2).map((c) => c.failed)).toEqual([true, true]);
    const key = (e: AgentEvent) => `${e.runId}/${e.kind}/${e.kind === 'log' ? e.seq : ''}`;
    const firstTry = (calls[0]?.events ?? []).map(key);
    // Each retry starts with exactly what the failed call carried.
    expect((calls[1]?.events ?? []).map(key).slice(0, firstTry.length)).toEqual(firstTry);
    const afterFailures = calls
      .slice(2)
      .flatMap((c) => c.events)
      .map(key);
    expect(afterFailures.slice(0, (calls[1]?.events ?? []).length)).toEqual((calls[1]?.events ?? []).map(key));
    const delivered = eventsOf(fake, second.runId);
    expect(delivered.map(key)).toEqual([...new Set(delivered.map(key))]);
    expect(delivered[0]?.kind).toBe('started');
    expect(output(delivered, 'stdout')).toBe('line 1\nline 2\nline 3\nline 4\nline 5\n');
    expect(delivered.at(-1)).toMatchObject({ kind: 'finished', outcome: 'failed', exitCode: 4 });
  }, 60_000);

  it('stops a run on request, refuses shell jobs, and registers again when the coordinator forgot it', async () => {
    const { fake, agent } = await setup();
    await agent.registered;
    const shell = makeOffer({ executor: { type: 'shell', script: 'echo hi' } });
    const long = makeOffer({ executor: { type: 'exec', command: ['sleep', '60'] } });
    const res = await offer(fake, agent, [shell, long]);
    expect(res.refused).toEqual([
      { runId: shell.runId, reason: 'shell executor is not allowed on this agent (start it with --allow-shell)' },
    ]);
    expect(res.accepted).toEqual([long.runId]);
    await eventually(() => eventsOf(fake, long.runId).some((e) => e.kind === 'started'), 10_000, 'the started event');
    await fake.broker.call(
      ACTIONS.stop,
      { runs: [{ runId: long.runId, token: long.token }], reason: 'cancelled by a user' },
      { nodeID: agent.nodeId },
    );
    await eventually(() => eventsOf(fake, long.runId).some((e) => e.kind === 'finished'), 15_000, 'the cancelled run to finish');
    expect(eventsOf(fake, long.runId).at(-1)).toMatchObject({
      outcome: 'cancelled',
      error: 'cancelled: cancelled by a user',
    } satisfies Partial<FinishedEvent>);

    fake.unknownHeartbeats = 1;
    await eventually(() => fake.registrations.length >= 2, 15_000, 'a second registration');
    expect(fake.registrations[1]?.agentId).toBe(agent.agentId);
  }, 60_000);

  it('registers again with a coordinator that restarted', async () => {
    const { fake, agent, cluster } = await setup();
    await agent.registered;
    await fake.broker.stop();
    const restarted = await fakeCoordinator(cluster);
    cleanups.push(() => restarted.broker.stop());
    await eventually(() => restarted.registrations.length > 0, 20_000, 'a registration with the restarted coordinator');
    expect(restarted.registrations[0]).toMatchObject({ agentId: agent.agentId, nodeId: agent.nodeId });
  }, 60_000);

  it('refuses to start when jobs would run as its own user, before making any state', async () => {
    const stateDir = join(await mkdtemp(join(tmpdir(), 'drover-agent-')), 'state');
    cleanups.push(() => rm(join(stateDir, '..'), { recursive: true, force: true }));
    await expect(
      startAgent(compileAgentOptions({ flags: { nats: NATS, 'state-dir': stateDir, 'log-level': 'silent' }, env: {} })),
    ).rejects.toMatchObject({
      code: 'LEAST_PRIVILEGE',
      message: expect.stringMatching(/--run-as <unprivileged user>.*--allow-same-user/s),
    });
    await expect(stat(stateDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('warns at every start when --allow-same-user lets jobs run as its own user', async () => {
    const { agent, lines } = await setup();
    await agent.registered;
    expect(lines.find((l) => String(l.msg).startsWith('SAME USER: --allow-same-user is set'))).toMatchObject({ level: 40 });
  }, 60_000);

  it('never logs the password of a NATS URL', async () => {
    // A server without authorization accepts any user; the agent must still keep the password to itself.
    const url = new URL(NATS);
    url.username = 'agent-user';
    url.password = 'n4ts-pa55word';
    const { agent, lines } = await setup({ nats: url.toString() });
    await agent.registered;
    expect(lines.find((l) => l.msg === 'agent starting')?.nats).toBe(`nats://agent-user:***@${url.host}`);
    expect(JSON.stringify(lines)).not.toContain('n4ts-pa55word');
  }, 60_000);

  it('keeps its agent id across restarts', async () => {
    const { agent, stateDir, cluster } = await setup();
    await agent.registered;
    await agent.stop({ graceMs: 0 });
    const again = await startAgent(
      compileAgentOptions({
        flags: { nats: NATS, cluster, 'state-dir': stateDir, 'log-level': 'silent', 'allow-same-user': true },
        env: {},
      }),
    );
    cleanups.push(() => again.stop({ graceMs: 0 }));
    expect(again.agentId).toBe(agent.agentId);
    await again.registered;
  }, 60_000);

  it('stops with an error naming the reason when a coordinator refuses it', async () => {
    const { agent, lines } = await setup({ refuse: 'this coordinator speaks Drover protocol 9' });
    await expect(agent.registered).rejects.toThrow('a coordinator refused this agent: this coordinator speaks Drover protocol 9');
    await expect(agent.done).rejects.toMatchObject({ name: 'RegistrationRefusedError', code: 'REGISTRATION_REFUSED' });
    expect(lines.some((l) => String(l.msg).includes('this coordinator speaks Drover protocol 9'))).toBe(true);
  }, 60_000);
});
