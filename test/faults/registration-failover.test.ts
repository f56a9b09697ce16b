// A re-registration must not wait for a dead coordinator. Two coordinators; the agent registers
// with coordinator-a (the only one then), learns of coordinator-b, and beats to each in turn.
// Right after coordinator-a answers a beat it is killed with SIGKILL and the agent's record is
// retired (`gone`), so the next beat — the survivor's turn — is answered "unknown agent" and the
// agent registers again; that registration is coordinator-a's turn, and coordinator-a is dead
// but still on the agent's node list (Moleculer notices a killed node only after 15 s and more).
// The agent gives up on it after a short wait and registers with the survivor.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, startAgent, startCoordinator, waitFor, type OutputLine, type TestEnv } from '../support/index.js';

let env: TestEnv;
let db: pg.Client;

beforeAll(async () => {
  env = await createTestEnv();
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await env?.cleanup();
});

/** When a process logged a record (pino's ISO time), in ms since the epoch. */
const at = (record: Record<string, unknown>): number => Date.parse(String(record.time));

/** Moleculer's debug line for an answer to a heartbeat from `node`. */
const beatAnsweredBy =
  (node: string) =>
  (l: OutputLine): boolean =>
    l.json?.msg === `<= Response 'drover.fleet.heartbeat' is received from '${node}'.`;

it('registers again with the survivor when the coordinator asked is dead', { timeout: 90_000 }, async () => {
  const a = await startCoordinator(env, ['--node-id', 'coordinator-a']);
  // At debug level the agent's bus logs which coordinator answered each call.
  const agent = await startAgent(env, { extraArgs: ['--log-level', 'debug'] });
  const b = await startCoordinator(env, ['--node-id', 'coordinator-b']);
  await agent.proc.waitForLine(beatAnsweredBy('coordinator-b'), 20_000);

  // Killed just after it answered a beat: the next ask, a beat, is the survivor's turn.
  const seen = agent.proc.lines.length;
  await waitFor(() => agent.proc.lines.slice(seen).some(beatAnsweredBy('coordinator-a')) || undefined, {
    timeoutMs: 20_000,
    description: 'coordinator-a to answer a heartbeat',
  });
  await a.proc.kill();
  const killedAt = Date.now();
  await db.query(`UPDATE agents SET state = 'gone' WHERE id = $1`, [agent.agentId]);

  const unknown = await agent.proc.waitForLog('the coordinator does not know this agent; registering again', 20_000);
  const registered = await agent.proc.waitForLog('agent registered', 30_000, (j) => at(j) >= at(unknown));
  const survivorTook = await b.proc.waitForLog('agent registered', 5_000, (j) => j.agentId === agent.agentId && at(j) >= killedAt);
  expect(survivorTook).toMatchObject({ agentId: agent.agentId });
  // The registration was first asked of the dead coordinator, which was then given up on.
  const failover = agent.proc.lines
    .map((l) => l.json)
    .filter((j) => j?.msg === 'a coordinator did not answer in time; asking another' && j.ask === 'registration');
  expect(failover).toEqual([expect.objectContaining({ unanswered: 'coordinator-a', askingNow: 'coordinator-b' })]);
  expect((await api(b.url).get<{ state: string }>(`/v1/agents/${agent.agentId}`)).body.state).toBe('ready');

  console.log(
    `coordinator-a kill -9 → agent unknown after ${at(unknown) - killedAt} ms; registered with coordinator-b ${at(registered) - at(unknown)} ms after that (${at(registered) - killedAt} ms after the kill)`,
  );
  await agent.stop();
});
