// An agent frozen (SIGSTOP) past its heartbeat TTL: its run (disconnect mode keep) is lost and
// finishes on another agent. When the frozen agent wakes (SIGCONT) and reports its old attempt's result, that
// result is fenced: the run keeps exactly one accepted result, and the rejection is recorded.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { api, createTestEnv, startAgent, startCoordinator, waitFor, type ApiClient, type Run, type TestEnv } from '../support/index.js';

let env: TestEnv;
let client: ApiClient;
let db: pg.Client;
let webhook: Server;
const notifications: Array<{ event: string; agents: Array<{ id: string }> }> = [];

beforeAll(async () => {
  env = await createTestEnv();
  // The fleet webhook: it answers 500 to the first call, so delivery must be retried.
  let calls = 0;
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (++calls === 1) return res.writeHead(500).end();
      notifications.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/fleet`;
  client = api(
    (
      await startCoordinator(env, [
        '--heartbeat-interval',
        '1s',
        '--agent-down-after',
        '3s',
        '--reconcile-interval',
        '300ms',
        '--notify-url',
        hook,
      ])
    ).url,
  );
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  webhook?.close();
  await db?.end();
  await env?.cleanup();
});

it('fences the late result of an agent that was frozen past its TTL', { timeout: 60_000 }, async () => {
  const frozen = await startAgent(env, { labels: { pool: 'freeze' }, slots: 1, name: 'frozen' });
  const job = (
    await client.post<{ id: string }>('/v1/jobs', {
      name: 'freezable',
      executor: { type: 'noop', sleep: '3s' },
      constraints: [{ attribute: 'label.pool', operator: '=', value: 'freeze' }],
      // Re-dispatched as soon as the agent is down: a frozen agent cannot stop anything itself.
      disconnect: { mode: 'keep' },
    })
  ).body;
  const runId = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`)).body.id;
  const first = await waitFor(
    async () => {
      const r = (await client.get<Run>(`/v1/runs/${runId}`)).body;
      return r.state === 'running' ? r : undefined;
    },
    { description: 'the run to start on the agent to be frozen' },
  );
  expect(first.agentId).toBe(frozen.agentId);

  // Freeze first: starting the other agent takes seconds on a loaded machine, long enough for
  // the 3 s run to finish before the freeze.
  frozen.proc.child.kill('SIGSTOP');
  const other = await startAgent(env, { labels: { pool: 'freeze' }, slots: 1, name: 'other' });
  const done = await waitFor(
    async () => {
      const r = (await client.get<Run>(`/v1/runs/${runId}`)).body;
      return r.state === 'succeeded' ? r : undefined;
    },
    { timeoutMs: 40_000, description: 'the run to be lost and succeed on the other agent' },
  );
  expect(done.agentId).toBe(other.agentId);
  expect(done.attemptToken).toBeGreaterThan(first.attemptToken);

  frozen.proc.child.kill('SIGCONT');
  // The woken agent reports its old attempt; the coordinator records and refuses it.
  const fenced = await waitFor(
    async () => {
      const rows = (
        await db.query(`SELECT kind, token::int AS token FROM fenced_messages WHERE run_id = $1 AND agent_id = $2`, [runId, frozen.agentId])
      ).rows;
      return rows.length > 0 ? rows : undefined;
    },
    { timeoutMs: 20_000, description: 'the late result to be fenced' },
  );
  expect(fenced.map((f) => f.token)).toContain(first.attemptToken);
  const after = (await client.get<Run>(`/v1/runs/${runId}`)).body;
  expect(after.state).toBe('succeeded');
  expect(after.agentId).toBe(other.agentId);
  expect(after.transitions.filter((t) => t.to === 'succeeded')).toHaveLength(1);
  // The woken agent heartbeats again and is back in the fleet.
  await waitFor(
    async () => ((await client.get<{ state: string }>(`/v1/agents/${frozen.agentId}`)).body.state === 'ready' ? true : undefined),
    {
      description: 'the woken agent to be ready again',
    },
  );
  // The webhook heard both, the first after a retry.
  await waitFor(() => (notifications.some((n) => n.event === 'agent.up') ? true : undefined), { description: 'the agent.up notification' });
  const events = notifications.filter((n) => n.agents.some((x) => x.id === frozen.agentId)).map((n) => n.event);
  expect(events).toEqual(['agent.down', 'agent.up']);
});

it('tells the webhook an agent is up again when it comes back by restarting rather than heartbeating', { timeout: 60_000 }, async () => {
  const crashed = await startAgent(env, { labels: { pool: 'crash' }, slots: 1, name: 'crashed' });
  await crashed.kill();
  await waitFor(
    async () => ((await client.get<{ state: string }>(`/v1/agents/${crashed.agentId}`)).body.state === 'down' ? true : undefined),
    { timeoutMs: 20_000, description: 'the killed agent to be down' },
  );
  const restarted = await startAgent(env, { labels: { pool: 'crash' }, slots: 1, name: 'crashed', stateDir: crashed.stateDir });
  expect(restarted.agentId).toBe(crashed.agentId);
  await waitFor(
    () => (notifications.some((n) => n.event === 'agent.up' && n.agents.some((x) => x.id === crashed.agentId)) ? true : undefined),
    { timeoutMs: 20_000, description: 'the agent.up notification for the restarted agent' },
  );
  const events = notifications.filter((n) => n.agents.some((x) => x.id === crashed.agentId)).map((n) => n.event);
  expect(events).toEqual(['agent.down', 'agent.up']);
});
