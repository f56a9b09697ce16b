// Coordinator → agent authentication: an agent that joined pins the cluster's key, runs what
// the coordinators offer (signed with it), and refuses an offer or ignores a stop request from
// any other node on the bus, however it got there. A node posing as a coordinator (offering
// `drover.fleet` and `drover.runs`, so it gets its share of the agent's calls) cannot make it
// forget its pinned key, delete its own, re-join (sending its join token), or stop its runs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Errors, type Context, type ServiceBroker } from 'moleculer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  ACTIONS,
  createBroker,
  newAgentKeyPair,
  privateKeyFromPem,
  signRefusal,
  type HeartbeatRequest,
  type OfferRequest,
  type RegisterRequest,
  type ReportRequest,
  type StopRequest,
} from '@drover/shared';
import {
  api,
  createJoinToken,
  createTestEnv,
  runHelpers,
  spawnDrover,
  startAgent,
  startCoordinator,
  type ApiClient,
  type StartedAgent,
  type TestEnv,
} from './support/index.js';

let env: TestEnv;
let client: ApiClient;
let agent: StartedAgent;
let rogue: ServiceBroker;
let joinToken: string;
let coordinatorUrl: string;

beforeAll(async () => {
  env = await createTestEnv();
  // Frequent heartbeats: the rogue coordinator below gets its share of them sooner.
  const coordinator = await startCoordinator(env, ['--heartbeat-interval', '1s']);
  client = api(coordinator.url);
  coordinatorUrl = coordinator.url;
  joinToken = await createJoinToken(client);
  agent = await startAgent(env, { slots: 2, env: { DROVER_JOIN_TOKEN: joinToken } });
  rogue = createBroker({ natsUrl: env.natsUrl, cluster: env.namespace, nodeId: 'rogue-coordinator', logLevel: 'error' });
  await rogue.start();
  await rogue.waitForServices(['drover.agent'], 20_000);
}, 60_000);

afterAll(async () => {
  await rogue?.stop();
  await env?.cleanup();
});

it('pins the cluster key at its join', async () => {
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  try {
    const key = (await db.query(`SELECT public_key FROM coordinator_keys WHERE id = 'cluster'`)).rows[0]?.public_key;
    const joined = JSON.parse(readFileSync(join(agent.stateDir, 'joined'), 'utf8')) as { coordinatorKey: string };
    expect(joined.coordinatorKey).toBe(key);
  } finally {
    await db.end();
  }
});

it('runs what the coordinators offer, refuses an offer from another node, and ignores its stop requests', async () => {
  const runs = runHelpers(client);
  const job = await runs.createJob({ name: 'signed-sleep', executor: { type: 'exec', command: ['sleep', '3'] } });
  const runId = await runs.trigger(job);
  const running = await runs.waitForRun(runId, (r) => r.state === 'running');
  const token = (running as unknown as { attemptToken: number }).attemptToken;

  const offer: OfferRequest = {
    offers: [
      {
        runId: '01JROGUE0000000000000000RN',
        jobId: job,
        jobName: 'signed-sleep',
        token: 1,
        attempt: 1,
        executor: { type: 'exec', command: ['touch', '/tmp/drover-rogue-was-here'] },
        resources: { cpu: 0, memoryBytes: 0 },
        timeoutMs: null,
        killGraceMs: 1000,
        logLimitBytes: 1024,
        parameters: {},
      },
    ],
  };
  await expect(rogue.call(ACTIONS.offer, offer, { nodeID: `agent-${agent.agentId}` })).rejects.toThrow(
    /not signed with the cluster's key \(missing\)/,
  );
  await agent.proc.waitForLog('refused an offer not signed with the cluster key');

  const stop: StopRequest = { runs: [{ runId, token }], reason: 'rogue' };
  expect(await rogue.call(ACTIONS.stop, stop, { nodeID: `agent-${agent.agentId}` })).toEqual({ ok: false });
  const done = await runs.waitForRun(runId);
  expect(done.state).toBe('succeeded');
}, 60_000);

it('ignores registration, heartbeat and report answers from a node posing as a coordinator', async () => {
  const keyFile = join(agent.stateDir, 'agent-key');
  const joinedFile = join(agent.stateDir, 'joined');
  const keyBefore = readFileSync(keyFile, 'utf8');
  const joinedBefore = readFileSync(joinedFile, 'utf8');
  const forgedKey = privateKeyFromPem(newAgentKeyPair().privateKeyPem);
  const received: Array<{ action: string; params: unknown }> = [];
  // Refusals, plain or signed with a key of the rogue's own (the agent pinned another).
  let forge = 0;
  const refuse = (type: string, code: number, params: { nodeId?: string; auth?: { nonce: string } }): never => {
    const err = new Errors.MoleculerClientError(`rogue says ${type}`, code, type);
    if (forge++ % 2 === 1)
      err.data = signRefusal(forgedKey, params.nodeId ?? `agent-${agent.agentId}`, err, params.auth?.nonce, Date.now());
    throw err;
  };
  const answers = [
    () => ({ known: false, stop: [] }),
    (p: HeartbeatRequest | RegisterRequest) => refuse('AGENT_NOT_JOINED', 401, p),
    (p: HeartbeatRequest | RegisterRequest) => refuse('AGENT_REVOKED', 403, p),
    (p: HeartbeatRequest | RegisterRequest) => refuse('AGENT_IDENTITY_REQUIRED', 401, p),
    // Stop whatever it runs.
    (p: HeartbeatRequest | RegisterRequest) => ({ known: true, agentId: agent.agentId, heartbeatIntervalMs: 60_000, stop: p.runs }),
  ];
  let next = 0;
  const answer = (action: string) => (c: Context<HeartbeatRequest | RegisterRequest>) => {
    received.push({ action, params: c.params });
    return answers[next++ % answers.length]?.(c.params);
  };
  const startRogueFleet = async (): Promise<ServiceBroker> => {
    const b = createBroker({ natsUrl: env.natsUrl, cluster: env.namespace, nodeId: 'rogue-fleet', logLevel: 'error' });
    b.createService({ name: 'drover.fleet', actions: { register: answer('register'), heartbeat: answer('heartbeat') } });
    b.createService({
      name: 'drover.runs',
      actions: {
        report: (c: Context<ReportRequest>) => {
          received.push({ action: 'report', params: c.params });
          return { stale: c.params.events.map((e) => ({ runId: e.runId, token: e.token })) };
        },
      },
    });
    await b.start();
    return b;
  };

  // Each time the rogue connects, the agent registers again, round-robin: soon one reaches the rogue.
  let fleet = await startRogueFleet();
  try {
    for (let i = 0; i < 8 && !received.some((r) => r.action === 'register'); i++) {
      await sleep(1500);
      if (received.some((r) => r.action === 'register')) break;
      await fleet.stop();
      fleet = await startRogueFleet();
    }
    expect(received.some((r) => r.action === 'register')).toBe(true);
    await agent.proc.waitForLog('ignored an answer to a registration not signed with the pinned cluster key', 20_000);

    // A run reports through the rogue too, and its heartbeats name the run to stop: it still succeeds.
    const runs = runHelpers(client);
    const job = await runs.createJob({ name: 'rogue-answers', executor: { type: 'exec', command: ['sleep', '4'] } });
    const runId = await runs.trigger(job);
    await runs.waitForRun(runId, (r) => r.state === 'running');
    const deadline = Date.now() + 30_000;
    while (received.filter((r) => r.action === 'heartbeat').length < answers.length * 2 && Date.now() < deadline) await sleep(250);
    expect(received.filter((r) => r.action === 'heartbeat').length).toBeGreaterThanOrEqual(answers.length * 2);
    await agent.proc.waitForLog('ignored an answer to a heartbeat not signed with the pinned cluster key');
    expect((await runs.waitForRun(runId)).state).toBe('succeeded');
  } finally {
    await fleet.stop();
  }

  // Nothing forgotten, deleted, or re-joined; the join token never went to the rogue.
  expect(agent.proc.exitStatus).toBeUndefined();
  expect(readFileSync(keyFile, 'utf8')).toBe(keyBefore);
  expect(readFileSync(joinedFile, 'utf8')).toBe(joinedBefore);
  const log = agent.proc.lines.map((l) => l.text).join('\n');
  expect(log).not.toMatch(/joining again with the join token|does not know this agent|refused this agent|stopping them/);
  // A report batch that reached the rogue was not taken as delivered, nor its `stale` list acted on.
  if (received.some((r) => r.action === 'report'))
    expect(log).toMatch(/ignored an answer to a report not signed with the pinned cluster key/);
  expect(JSON.stringify(received)).not.toContain(joinToken);
  expect(received.filter((r) => r.action === 'register').every((r) => !(r.params as RegisterRequest).join)).toBe(true);
}, 120_000);

it('pinned in advance with --coordinator-key (from drover cluster key), a join is trusted only when answered with that key', async () => {
  const cli = spawnDrover(env, ['cluster', 'key'], { name: 'drover cluster key', env: { DROVER_ADDR: coordinatorUrl } });
  expect((await cli.exited).code).toBe(0);
  const key = cli.lines.map((l) => l.text.trim()).find((t) => /^[A-Za-z0-9_-]{43}$/.test(t));
  const served = await client.get<{ publicKey: string; pem: string }>('/v1/cluster/key');
  expect(served.status).toBe(200);
  expect(key).toBe(served.body.publicKey);
  expect(served.body.pem).toMatch(/BEGIN PUBLIC KEY/);

  // Given another key, the agent does not trust the coordinators' answer to its join.
  const wrong = spawnDrover(env, ['agent', '--coordinator-key', newAgentKeyPair().publicKey], {
    name: 'wrong-key',
    stateDir: makeStateDirLike(agent.stateDir, 'wrong-key'),
    env: { DROVER_JOIN_TOKEN: joinToken, DROVER_ALLOW_SAME_USER: 'true' },
  });
  try {
    await wrong.waitForLog('ignored an answer to a registration not signed with the pinned cluster key', 20_000);
    await wrong.waitForLine((l) => /the answer to this agent's join is not signed with the cluster key it pinned/.test(l.text));
    expect(wrong.lines.map((l) => l.text).join('\n')).not.toMatch(/"msg":"agent joined"/);
  } finally {
    await wrong.kill();
  }

  // Given the right one (as PEM, in a file), it joins and keeps it pinned.
  const dir = makeStateDirLike(agent.stateDir, 'right-key');
  const keyFile = join(dir, 'cluster-key.pem');
  writeFileSync(keyFile, served.body.pem);
  const right = await startAgent(env, { stateDir: dir, extraArgs: ['--coordinator-key', keyFile], env: { DROVER_JOIN_TOKEN: joinToken } });
  await right.proc.waitForLog('agent joined');
  expect((JSON.parse(readFileSync(join(dir, 'joined'), 'utf8')) as { coordinatorKey: string }).coordinatorKey).toBe(key);
  await right.stop();
}, 60_000);

/** A fresh state dir beside another. */
function makeStateDirLike(other: string, name: string): string {
  const dir = join(other, '..', `${name}-${Date.now()}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
