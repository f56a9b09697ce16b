// Agent identity on a secured bus: a real nats-server with TLS, a coordinator user and one user
// per agent limited to its own Moleculer subjects (docs/security.md, "Securing the bus",
// documents). A legit agent joins with a join token and runs a job; an agent without NATS
// credentials cannot connect; a message forged for another agent (through a valid agent's NATS
// user, signed with the wrong key) and a result for a run not assigned to the sender are
// refused and audited.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as connectNats } from 'nats';
import pg from 'pg';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIONS,
  PROTOCOL_VERSION,
  checkAnswer,
  checkRefusal,
  createBroker,
  newAgentKeyPair,
  privateKeyFromPem,
  publicKeyFromText,
  signMessage,
  type FinishedEvent,
  type HeartbeatRequest,
  type RegisterRequest,
  type ReportRequest,
  type ReportResponse,
} from '@drover/shared';
import type { ServiceBroker } from 'moleculer';
import {
  api,
  createTestEnv,
  makeStateDir,
  runHelpers,
  spawnDrover,
  waitFor,
  type ApiClient,
  type DroverProcess,
  type TestEnv,
} from './support/index.js';
import { startSecureNats, type SecureNats } from './support/nats-secure.js';

const COORDINATOR_NODE = 'coordinator-sec1';
const BOOTSTRAP = `drv_${randomBytes(24).toString('hex')}`;

let env: TestEnv;
let nats: SecureNats;
let db: pg.Client;
let client: ApiClient;
let coordinator: DroverProcess;
let identityRequired = false;
const agentA = { id: ulid(), password: randomBytes(12).toString('hex') };
const agentC = { id: ulid(), password: randomBytes(12).toString('hex') };
const agentD = { id: ulid(), password: randomBytes(12).toString('hex') };
const coordinatorUser = { user: 'coordinator', password: randomBytes(12).toString('hex') };
const nodeOf = (id: string) => `agent-${id}`;

/** A client that sends the bootstrap admin token (ignored by a coordinator without auth). */
function withToken(c: ApiClient, token: string): ApiClient {
  const h = (o?: { headers?: Record<string, string> }) => ({ ...o, headers: { authorization: `Bearer ${token}`, ...o?.headers } });
  return {
    baseUrl: c.baseUrl,
    request: (m, p, b, o) => c.request(m, p, b, h(o)),
    get: (p, o) => c.get(p, h(o)),
    post: (p, b, o) => c.post(p, b, h(o)),
    patch: (p, b, o) => c.patch(p, b, h(o)),
    del: (p, o) => c.del(p, h(o)),
  };
}

/** A join token (role agent) written straight into the database, as `drover tokens create --role agent` would. */
async function createJoinToken(namespaces: string[] = []): Promise<string> {
  const secret = `drv_${randomBytes(32).toString('base64url')}`;
  await db.query(`INSERT INTO api_tokens (id, name, role, namespaces, secret_hash, created_by) VALUES ($1, $2, 'agent', $3, $4, 'test')`, [
    ulid(),
    `join-${namespaces.join('-') || 'any'}`,
    namespaces,
    createHash('sha256').update(secret).digest(),
  ]);
  return secret;
}

/** The environment that points a drover process at the secured server with a NATS user. */
function busEnv(user?: { user: string; password: string }): Record<string, string> {
  return {
    DROVER_NATS_URL: nats.url,
    DROVER_NATS_TLS_CA: nats.caFile,
    ...(user ? { DROVER_NATS_USER: user.user, DROVER_NATS_PASSWORD: user.password } : {}),
  };
}

/** A state dir holding a given agent id, so its NATS user (named by its node id) can exist before it starts. */
function stateDirFor(agentId: string): string {
  const dir = makeStateDir(env, `agent-${agentId.slice(-6)}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'agent-id'), `${agentId}\n`, { mode: 0o600 });
  return dir;
}

async function audit(action: string, target?: string): Promise<Array<{ actor: string; target: string; detail: Record<string, unknown> }>> {
  const res = await db.query(
    `SELECT actor, target, detail FROM audit_log WHERE action = $1 ${target ? 'AND target = $2' : ''} ORDER BY id`,
    target ? [action, target] : [action],
  );
  return res.rows;
}

beforeAll(async () => {
  env = await createTestEnv();
  nats = await startSecureNats(env, {
    coordinator: coordinatorUser,
    coordinatorNodeIds: [COORDINATOR_NODE],
    agents: [agentA, agentC, agentD].map((a) => ({ user: nodeOf(a.id), password: a.password, nodeId: nodeOf(a.id) })),
  });
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  env.onCleanup(() => db.end());
  coordinator = spawnDrover(env, ['coordinator', '--api-addr', '127.0.0.1:0', '--node-id', COORDINATOR_NODE], {
    // With auth (the default once the API has it): the bootstrap token is the admin.
    env: { ...busEnv(coordinatorUser), DROVER_BOOTSTRAP_TOKEN: BOOTSTRAP, DROVER_INSECURE: 'false' },
  });
  const listening = await coordinator.waitForLog('api listening');
  identityRequired = listening.auth === 'tokens';
  client = withToken(api(String(listening.url)), BOOTSTRAP);
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
});

describe('agents on a NATS server with TLS and per-agent users', () => {
  let agent: DroverProcess;
  let stateDirA: string;
  let runOfA: { id: string; token: number };

  it('a legit agent joins with its join token over TLS and runs a job', async () => {
    const token = await createJoinToken();
    const started = Date.now();
    stateDirA = stateDirFor(agentA.id);
    agent = spawnDrover(env, ['agent', '--slots', '2', '--allow-same-user'], {
      name: 'agent-a',
      stateDir: stateDirA,
      env: { ...busEnv({ user: nodeOf(agentA.id), password: agentA.password }), DROVER_JOIN_TOKEN: token },
    });
    await agent.waitForLog('agent joined');
    await agent.waitForLog('agent registered');
    console.log(`join latency (agent start to registered, TLS, incl. process start): ${Date.now() - started} ms`);
    const row = await db.query('SELECT public_key, joined_with_token FROM agents WHERE id = $1', [agentA.id]);
    expect(row.rows[0]?.public_key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await audit('agent.joined', agentA.id)).length).toBe(1);

    const runs = runHelpers(client);
    const jobId = await runs.createJob({ name: 'secured-hello', executor: { type: 'exec', command: ['sh', '-c', 'echo hello; sleep 2'] } });
    const runId = await runs.trigger(jobId);
    const running = await runs
      .waitForRun(runId, (r) => r.state === 'running')
      .catch(async (err: unknown) => {
        console.log(JSON.stringify(await runs.getRun(runId)), coordinator.tail(30), agent.tail(30));
        throw err;
      });
    expect(running.agentId).toBe(agentA.id);
    const tok = await db.query('SELECT attempt_token FROM runs WHERE id = $1', [runId]);
    runOfA = { id: runId, token: Number(tok.rows[0].attempt_token) };
    // Its heartbeats and reports are signed: the run ends normally.
    const done = await runs.waitForRun(runId);
    expect(done.state).toBe('succeeded');
  }, 60_000);

  it('restarts without the join token: the key in its state dir is its credential', async () => {
    await agent.stop();
    agent = spawnDrover(env, ['agent', '--slots', '2', '--allow-same-user'], {
      name: 'agent-a-again',
      stateDir: stateDirA,
      env: busEnv({ user: nodeOf(agentA.id), password: agentA.password }),
    });
    await agent.waitForLog('agent registered');
    expect(agent.lines.some((l) => l.json?.msg === 'agent joined')).toBe(false);
  }, 60_000);

  it('an agent without NATS credentials cannot connect', async () => {
    const anonymous = spawnDrover(env, ['agent', '--allow-same-user'], { name: 'agent-anonymous', env: busEnv() });
    await anonymous.waitForLine((l) => /authorization violation/i.test(String(l.json?.msg ?? l.text)), 20_000);
    expect(anonymous.lines.some((l) => l.json?.msg === 'agent registered')).toBe(false);
    await anonymous.kill();
  }, 60_000);

  describe('a forger with a valid agent NATS user', () => {
    let forger: ServiceBroker;
    const keys = newAgentKeyPair();
    const key = privateKeyFromPem(keys.privateKeyPem);

    beforeAll(async () => {
      forger = createBroker({
        natsUrl: nats.url,
        cluster: env.namespace,
        nodeId: nodeOf(agentC.id),
        logLevel: 'error',
        security: { user: nodeOf(agentC.id), password: agentC.password, tlsCa: nats.caFile },
      });
      await forger.start();
      await forger.waitForServices(['drover.fleet', 'drover.runs'], 20_000);
    }, 30_000);
    afterAll(async () => {
      await forger?.stop();
    });

    it('cannot heartbeat for another agent: refused and audited as impersonation', async () => {
      const hb: HeartbeatRequest = {
        agentId: agentA.id,
        nodeId: nodeOf(agentA.id),
        at: Date.now(),
        free: { slots: 99, cpu: 99, memoryBytes: 2 ** 40 },
        usage: { cpuPercent: 0, load1: 0, memoryUsedBytes: 0, slotsUsed: 0 },
        runs: [],
      };
      hb.auth = signMessage(key, 'heartbeat', agentA.id, hb, Date.now());
      await expect(forger.call(ACTIONS.heartbeat, hb)).rejects.toMatchObject({ type: 'AGENT_SIGNATURE_INVALID' });
      const records = await audit('agent.impersonation', agentA.id);
      expect(records.length).toBeGreaterThan(0);
      expect(records.at(-1)?.detail).toMatchObject({ claimedAgentId: agentA.id, kind: 'heartbeat', nodeId: nodeOf(agentC.id) });
    });

    it('cannot register as another agent', async () => {
      const req: RegisterRequest = {
        protocol: PROTOCOL_VERSION,
        agentId: agentA.id,
        nodeId: nodeOf(agentC.id),
        name: 'evil',
        version: '0',
        attributes: {},
        labels: {},
        executors: ['exec'],
        total: { slots: 8, cpu: 8, memoryBytes: 2 ** 34 },
        free: { slots: 8, cpu: 8, memoryBytes: 2 ** 34 },
        runs: [],
        publicKey: keys.publicKey,
      };
      req.auth = signMessage(key, 'register', agentA.id, req, Date.now());
      await expect(forger.call(ACTIONS.register, req)).rejects.toMatchObject({ type: 'AGENT_SIGNATURE_INVALID' });
      // A join with a valid join token does not take over an agent that has a key either.
      const join: RegisterRequest = { ...req, join: { token: await createJoinToken() }, auth: undefined };
      join.auth = signMessage(key, 'register', agentA.id, join, Date.now());
      await expect(forger.call(ACTIONS.register, join)).rejects.toMatchObject({ type: 'AGENT_KEY_MISMATCH' });
      const row = await db.query('SELECT node_id, name FROM agents WHERE id = $1', [agentA.id]);
      expect(row.rows[0]).toMatchObject({ node_id: nodeOf(agentA.id) });
    });

    it('joined as itself, a result for a run assigned to another agent is rejected and audited with both ids', async () => {
      const req: RegisterRequest = {
        protocol: PROTOCOL_VERSION,
        agentId: agentC.id,
        nodeId: nodeOf(agentC.id),
        name: 'forger',
        version: '0',
        attributes: {},
        labels: {},
        executors: [],
        total: { slots: 0, cpu: 0, memoryBytes: 0 },
        free: { slots: 0, cpu: 0, memoryBytes: 0 },
        runs: [],
        publicKey: keys.publicKey,
        join: { token: await createJoinToken() },
      };
      req.auth = signMessage(key, 'register', agentC.id, req, Date.now());
      const t0 = performance.now();
      await forger.call(ACTIONS.register, req);
      console.log(`join round trip (register with a join token, over TLS): ${(performance.now() - t0).toFixed(1)} ms`);

      const finished: FinishedEvent = {
        kind: 'finished',
        runId: runOfA.id,
        token: runOfA.token,
        at: Date.now(),
        outcome: 'failed',
        exitCode: 66,
        signal: null,
        error: 'forged',
        durationMs: 1,
        cpuTimeMs: null,
        peakMemoryBytes: null,
        httpStatus: null,
        outputBytes: 0,
        droppedBytes: 0,
        lastLines: [],
      };
      const report: ReportRequest = { agentId: agentC.id, events: [finished] };
      report.auth = signMessage(key, 'report', agentC.id, report, Date.now());
      const res = await forger.call<ReportResponse, ReportRequest>(ACTIONS.report, report);
      expect(res.stale).toEqual([{ runId: runOfA.id, token: runOfA.token }]);
      const records = await waitFor(async () => {
        const r = await audit('agent.unassigned_result', runOfA.id);
        return r.length > 0 ? r : undefined;
      });
      expect(records[0]).toMatchObject({
        actor: `agent:${agentC.id}`,
        detail: { senderAgentId: agentC.id, assignedAgentId: agentA.id, token: runOfA.token },
      });
      const run = (await client.get<{ state: string; exitCode: number | null }>(`/v1/runs/${runOfA.id}`)).body;
      expect(run).toMatchObject({ state: 'succeeded', exitCode: 0 });
    });

    it('a report replayed with its original signature is refused', async () => {
      const report: ReportRequest = { agentId: agentC.id, events: [] };
      report.auth = signMessage(key, 'report', agentC.id, report, Date.now());
      await forger.call(ACTIONS.report, report);
      await expect(forger.call(ACTIONS.report, report)).rejects.toMatchObject({ type: 'AGENT_SIGNATURE_INVALID' });
    });

    it('unsigned heartbeats and reports for an agent id with no record are refused, the refusal signed with the cluster key', async () => {
      const clusterKey = publicKeyFromText(
        (await db.query(`SELECT public_key FROM coordinator_keys WHERE id = 'cluster'`)).rows[0]?.public_key as string,
      );
      const madeUp = ulid();
      const hb: HeartbeatRequest = {
        agentId: madeUp,
        nodeId: nodeOf(agentC.id),
        at: Date.now(),
        free: { slots: 1, cpu: 1, memoryBytes: 2 ** 30 },
        usage: { cpuPercent: 0, load1: 0, memoryUsedBytes: 0, slotsUsed: 0 },
        runs: [],
      };
      const refused = await forger.call(ACTIONS.heartbeat, hb).then(
        () => undefined,
        (err: unknown) => err as { type?: string },
      );
      expect(refused).toMatchObject({ type: 'AGENT_NOT_JOINED' });
      expect(checkRefusal(clusterKey, nodeOf(agentC.id), refused ?? {}, undefined, Date.now())).toBe('ok');
      await expect(forger.call(ACTIONS.report, { agentId: madeUp, events: [] } satisfies ReportRequest)).rejects.toMatchObject({
        type: 'AGENT_NOT_JOINED',
      });
      expect((await audit('agent.unauthenticated', madeUp)).at(-1)?.detail).toMatchObject({ unknownAgent: true });
      // Its own signed heartbeat is answered, signed for its node, naming the beat.
      const own: HeartbeatRequest = { ...hb, agentId: agentC.id };
      own.auth = signMessage(key, 'heartbeat', agentC.id, own, Date.now());
      const answer = await forger.call(ACTIONS.heartbeat, own);
      expect(checkAnswer(clusterKey, 'heartbeat-answer', nodeOf(agentC.id), answer as object, own.auth.nonce, Date.now())).toBe('ok');
    });
  });

  it("an agent's NATS user can neither hear nor send another agent's requests, nor reach JetStream's API", async () => {
    const nc = await connectNats({
      servers: nats.url.replace(/^tls:\/\//, ''),
      user: nodeOf(agentC.id),
      pass: agentC.password,
      tls: { caFile: nats.caFile },
    });
    const errors: string[] = [];
    void (async () => {
      for await (const s of nc.status())
        if (s.type === 'error' && s.permissionContext) errors.push(`${s.permissionContext.operation} ${s.permissionContext.subject}`);
    })();
    const othersRequests = `MOL-${env.namespace}.REQ.${nodeOf(agentA.id)}`;
    const sub = nc.subscribe(othersRequests);
    const subscription = (async () => {
      try {
        for await (const _ of sub) return 'received a message';
        return 'closed';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    await expect(nc.request('$JS.API.INFO', '', { timeout: 2000 })).rejects.toThrow();
    nc.publish(othersRequests, '{}');
    nc.publish('$JS.API.STREAM.DELETE.ANY', '');
    expect(await subscription).toMatch(/permissions violation/i);
    // The server refused both publishes (the first one to another agent's requests).
    await waitFor(async () => (errors.filter((e) => e.startsWith('publish ')).length >= 2 ? true : undefined), {
      description: 'both publishes refused',
    });
    expect(errors).toEqual(expect.arrayContaining([`publish ${othersRequests}`, 'publish $JS.API.STREAM.DELETE.ANY']));
    await nc.close();
  });

  it('a revoked agent is refused, stops, and its key is gone', async () => {
    const res = await client.post<{ revokedAt: string; state: string }>(`/v1/agents/${agentA.id}/revoke`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.state).toBe('gone');
    const status = await agent.exited;
    expect(status.code).toBe(1);
    expect(agent.lines.map((l) => l.text).join('\n')).toMatch(/was revoked/);
    expect(existsSync(join(stateDirA, 'agent-key'))).toBe(false);
    expect((await audit('agent.revoked', agentA.id)).length).toBe(1);
  }, 60_000);

  it('with auth, an agent that has not joined is refused and told how to join', async (t) => {
    if (!identityRequired) t.skip(); // a coordinator without API auth (--insecure) accepts unsigned agents
    const plain = spawnDrover(env, ['agent', '--allow-same-user'], {
      name: 'agent-unjoined',
      stateDir: stateDirFor(agentD.id),
      env: busEnv({ user: nodeOf(agentD.id), password: agentD.password }),
    });
    await plain.exited;
    expect(plain.lines.map((l) => l.text).join('\n')).toMatch(/drover tokens create --role agent.*--join-token/);
  });
});
