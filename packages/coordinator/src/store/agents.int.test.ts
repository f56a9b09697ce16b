// Agent states against real PostgreSQL: what liveness writes (down) and what the operator set
// (cordoned, draining) are kept apart, so an agent that was down comes back as it was.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { PROTOCOL_VERSION, type RegisterRequest } from '@drover/shared';
import { createTestEnv, type TestEnv } from '../../../../test/support/index.js';
import { openDatabase, type Db } from './db.js';
import { getAgent, markSilentAgentsDown, recordHeartbeat, setAgentState, upsertAgent } from './agents.js';

let env: TestEnv;
let db: Db;

beforeAll(async () => {
  env = await createTestEnv();
  db = await openDatabase(env.databaseUrl, { poolSize: 2 });
});
afterAll(async () => {
  await db?.destroy();
  await env?.cleanup();
});

const capacity = { slots: 2, cpu: 2, memoryBytes: 1 << 30 };
const usage = { cpuPercent: 1, load1: 0.1, memoryUsedBytes: 1 << 20, slotsUsed: 0 };
const register = (agentId: string): RegisterRequest => ({
  protocol: PROTOCOL_VERSION,
  agentId,
  nodeId: `agent-${agentId}`,
  name: agentId,
  version: 'test',
  attributes: {},
  labels: {},
  executors: ['noop'],
  total: capacity,
  free: capacity,
  runs: [],
});

async function goSilent(agentId: string): Promise<void> {
  await sql`UPDATE agents SET last_heartbeat_at = now() - interval '1 minute' WHERE id = ${agentId}`.execute(db);
  expect(await markSilentAgentsDown(db, 30_000)).toContain(agentId);
  expect((await getAgent(db, agentId))?.state).toBe('down');
}

it('a cordoned agent that was down is cordoned again when it heartbeats or registers', async () => {
  await upsertAgent(db, register('cordoned-1'));
  await setAgentState(db, 'cordoned-1', 'cordon');
  await goSilent('cordoned-1');
  expect((await recordHeartbeat(db, 'cordoned-1', 'agent-cordoned-1', capacity, usage)).revived).toBe(true);
  expect((await getAgent(db, 'cordoned-1'))?.state).toBe('cordoned');

  await goSilent('cordoned-1');
  expect((await upsertAgent(db, register('cordoned-1'))).state).toBe('cordoned');
});

it('a draining agent that was down keeps draining, deadline and all', async () => {
  await upsertAgent(db, register('draining-1'));
  const deadline = Date.now() + 600_000;
  await setAgentState(db, 'draining-1', 'drain', deadline);
  await goSilent('draining-1');
  await recordHeartbeat(db, 'draining-1', 'agent-draining-1', capacity, usage);
  const back = await getAgent(db, 'draining-1');
  expect(back?.state).toBe('draining');
  expect(back?.drainDeadline).toBe(new Date(deadline).toISOString());
});

it('an uncordoned agent that was down is ready again', async () => {
  await upsertAgent(db, register('ready-1'));
  await setAgentState(db, 'ready-1', 'cordon');
  await setAgentState(db, 'ready-1', 'uncordon');
  await goSilent('ready-1');
  await recordHeartbeat(db, 'ready-1', 'agent-ready-1', capacity, usage);
  expect((await getAgent(db, 'ready-1'))?.state).toBe('ready');
});

it("an agent's own drain (SIGTERM) ends when it registers again; an operator's drain does not", async () => {
  await upsertAgent(db, register('restarted-1'));
  expect((await recordHeartbeat(db, 'restarted-1', 'agent-restarted-1', capacity, usage, true)).startedDraining).toBe(true);
  expect((await getAgent(db, 'restarted-1'))?.state).toBe('draining');
  expect((await upsertAgent(db, register('restarted-1'))).state).toBe('ready');

  await setAgentState(db, 'restarted-1', 'cordon');
  await recordHeartbeat(db, 'restarted-1', 'agent-restarted-1', capacity, usage, true);
  expect((await upsertAgent(db, register('restarted-1'))).state).toBe('cordoned');

  await setAgentState(db, 'restarted-1', 'drain');
  expect((await upsertAgent(db, register('restarted-1'))).state).toBe('draining');
});

it('an agent given a long heartbeat interval when the fleet was large is not down between its beats after the fleet shrank', async () => {
  // Registered among 5,000 agents: told to heartbeat every 25 s. The fleet has since shrunk, so
  // the fleet-wide cut-off is back to 7 s; the agent last beat 20 s ago and is on time.
  await upsertAgent(db, register('slow-beat-1'), 25_000);
  await sql`UPDATE agents SET last_heartbeat_at = now() - interval '20 seconds' WHERE id = 'slow-beat-1'`.execute(db);
  expect(await markSilentAgentsDown(db, 7_000)).not.toContain('slow-beat-1');
  // Three beats missed at its own pace (plus the grace): it is down.
  await sql`UPDATE agents SET last_heartbeat_at = now() - interval '78 seconds' WHERE id = 'slow-beat-1'`.execute(db);
  expect(await markSilentAgentsDown(db, 7_000)).toContain('slow-beat-1');
});
