// An offer whose answer never comes may still have reached the agent: an agent frozen (SIGSTOP)
// just before a run is offered to it takes the offer when it wakes, after the coordinator's
// offer call timed out. Under the disconnect rule `stop`, the coordinator must not hand the run
// to another agent meanwhile: the run executes once, on the agent that woke, never twice at once.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  markingExecutor,
  readExecutions,
  runHelpers,
  startAgent,
  startCoordinator,
  waitFor,
  type ApiClient,
  type StartedCoordinator,
  type TestEnv,
} from '../support/index.js';

let env: TestEnv;
let coordinator: StartedCoordinator;
let client: ApiClient;

beforeAll(async () => {
  env = await createTestEnv();
  // Default settings: the offer call gives up after 30 s, by when the frozen agent is down.
  coordinator = await startCoordinator(env);
  client = api(coordinator.url);
});
afterAll(async () => env?.cleanup());

it('leaves a stop run offered to an agent that did not answer, and it runs once when the agent wakes', { timeout: 180_000 }, async () => {
  const marks = join(mkdtempSync(join(tmpdir(), 'drover-offer-cut-off-')), 'marks');
  const h = runHelpers(client);
  const frozen = await startAgent(env, { name: 'frozen', slots: 1, labels: { pool: 'offer-cut-off' } });
  const jobId = await h.createJob({
    name: 'offered-while-frozen',
    executor: markingExecutor(marks, 20),
    killGracePeriod: '1s',
    disconnect: { mode: 'stop', after: '60s' },
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'offer-cut-off' }],
  });
  frozen.proc.child.kill('SIGSTOP');
  const runId = await h.trigger(jobId);
  await coordinator.proc.waitForLine((l) => /offer not answered/.test(l.text), 60_000);
  // Another agent that could take the run, had it gone back to the queue.
  const other = await startAgent(env, { name: 'other', slots: 1, labels: { pool: 'offer-cut-off' } });
  await new Promise((r) => setTimeout(r, 3_000));
  frozen.proc.child.kill('SIGCONT');

  const run = await h.waitForRun(runId, (r) => r.state === 'succeeded' || r.state === 'failed' || r.state === 'lost', 90_000);
  expect(run.state).toBe('succeeded');
  expect(run.attempt).toBe(1);
  expect(run.agentId).toBe(frozen.agentId);
  expect(run.agentId).not.toBe(other.agentId);
  // Executions counted: one, on the agent that woke.
  const executions = await waitFor(() => {
    const all = readExecutions(marks);
    return all.every((e) => e.how !== undefined) ? all : undefined;
  });
  expect(executions.map((e) => `${e.runId}:${e.attempt}:${e.how}`)).toEqual([`${runId}:1:finished`]);
});
