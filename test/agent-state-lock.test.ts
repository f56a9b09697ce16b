// One identity, one process: a second agent started on the state dir of a running one refuses
// to start, naming the holder, and the first keeps running jobs; an agent killed outright
// leaves its lock behind, and the next agent on that state dir takes it over, saying so.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, runHelpers, spawnDrover, startAgent, startCoordinator, waitFor, type TestEnv } from './support/index.js';

let env: TestEnv;
let helpers: ReturnType<typeof runHelpers>;
let marks: string;

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env);
  helpers = runHelpers(api(coordinator.url));
  const dir = mkdtempSync(join(tmpdir(), 'drover-state-lock-'));
  env.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  marks = join(dir, 'marks');
});
afterAll(async () => env?.cleanup());

/** One line per execution of a run of the job: its run id and attempt. */
const executions = (): string[] => {
  try {
    return readFileSync(marks, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

it('refuses a second agent process on the same state dir, naming the holder; the first keeps working', { timeout: 90_000 }, async () => {
  const first = await startAgent(env, { labels: { pool: 'state-lock' } });
  const second = spawnDrover(env, ['agent', '--allow-same-user', '--label', 'pool=state-lock'], {
    name: 'second-agent',
    stateDir: first.stateDir,
  });
  const status = await waitFor(() => second.exitStatus, { timeoutMs: 30_000, description: 'the second agent to refuse to start' });
  const said = second.lines.map((l) => l.text).join('\n');
  console.log(`second agent: exit ${status.code}; said: ${said}`);
  expect(status.code).not.toBe(0);
  expect(said).toContain(`process ${first.proc.pid} is using the agent state dir ${first.stateDir}, on host ${hostname()}; stop it first`);
  expect(said).not.toContain('agent registered');
  expect(readFileSync(join(first.stateDir, 'agent.lock'), 'utf8')).toBe(`${first.proc.pid}\n${hostname()}\n`);

  const job = await helpers.createJob({
    name: 'state-lock',
    executor: { type: 'exec', command: ['sh', '-c', `echo "$DROVER_RUN_ID $DROVER_ATTEMPT" >> ${marks}`] },
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'state-lock' }],
  });
  const runId = await helpers.trigger(job);
  const run = await helpers.waitForRun(runId);
  expect(run).toMatchObject({ state: 'succeeded', agentId: first.agentId, attempt: 1 });
  expect(executions()).toEqual([`${runId} 1`]);
  expect(first.proc.exitStatus).toBeUndefined();

  // Killed outright, it leaves the lock; the next agent on its state dir takes it over and is the same agent.
  await first.kill();
  const next = await startAgent(env, { labels: { pool: 'state-lock' }, stateDir: first.stateDir, name: 'next-agent' });
  const takeover = await next.proc.waitForLog('took over the state dir from an agent process that is gone (it did not stop cleanly)');
  expect(takeover).toMatchObject({ pid: first.proc.pid, host: hostname() });
  expect(next.agentId).toBe(first.agentId);
  const again = await helpers.trigger(job);
  expect(await helpers.waitForRun(again)).toMatchObject({ state: 'succeeded', agentId: first.agentId, attempt: 1 });
  expect(executions()).toEqual([`${runId} 1`, `${again} 1`]);
  // A clean stop lets go of the lock.
  expect((await next.stop()).code).toBe(0);
  expect(() => readFileSync(join(first.stateDir, 'agent.lock'))).toThrow(/ENOENT/);
});
