// A job never outlives its agent. Real coordinator and agents, exec jobs that append a line per
// start to a marks file and then sleep:
//   - `kill -9` of an agent running 5 of them: its reaper kills every process of those attempts
//     (the figure is printed); the agent restarted on its state dir reports them lost with what
//     happened, and each run executes exactly twice, the retry only after the first was gone;
//   - the reaper killed too (SIGKILL, the agent frozen first so it cannot start another): the
//     jobs survive, and the agent restarted on the state dir kills them before it registers.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  makeStateDir,
  processGone,
  readMarks,
  runHelpers,
  startAgent,
  startCoordinator,
  waitFor,
  type ApiClient,
  type Run,
  type StartedAgent,
  type TestEnv,
} from '../support/index.js';

const LEFTOVER_ERROR = 'the agent restarted while the attempt ran; its processes were killed';

let env: TestEnv;
let client: ApiClient;
let h: ReturnType<typeof runHelpers>;
let dir: string;

beforeAll(async () => {
  env = await createTestEnv();
  // Default liveness: the agents restart well before they would be declared down, so what
  // ends their runs' first attempts is what the restarted agent reports.
  client = api((await startCoordinator(env)).url);
  h = runHelpers(client);
  dir = makeStateDir(env, 'marks');
});
afterAll(async () => env?.cleanup());

/** The live processes (zombies excluded) whose environment names one of `runIds`. */
function attemptProcesses(runIds: readonly string[]): Array<{ pid: number; runId: string }> {
  const found: Array<{ pid: number; runId: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
      const runId = runIds.find((id) => env.includes(`DROVER_RUN_ID=${id}`));
      if (runId && !processGone(Number(name))) found.push({ pid: Number(name), runId });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** The pid of an agent's reaper: its child running the reaper script. */
function reaperOf(agentPid: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === agentPid && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('drover-reaper')) return Number(name);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

async function startMarkedRuns(pool: string, marksFile: string, count: number): Promise<string[]> {
  const jobId = await h.createJob({
    name: `outlive-${pool}`,
    executor: { type: 'exec', command: ['sh', '-c', `echo "$DROVER_RUN_ID $DROVER_ATTEMPT" >> ${marksFile}; sleep 60`] },
    constraints: [{ attribute: 'label.pool', operator: '=', value: pool }],
  });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await h.trigger(jobId));
  await waitFor(() => (readMarks(marksFile).length === count ? true : undefined), { description: `${count} executions to start` });
  return ids;
}

/** Each run executed exactly twice, attempts 1 then 2. */
async function expectExecutedTwice(ids: readonly string[], marksFile: string): Promise<Run[]> {
  await waitFor(() => (readMarks(marksFile).length >= ids.length * 2 ? true : undefined), {
    timeoutMs: 60_000,
    description: 'every run to start its second attempt',
  });
  const lines = readMarks(marksFile);
  expect(lines).toHaveLength(ids.length * 2);
  for (const id of ids) expect(lines.filter((l) => l.startsWith(`${id} `))).toEqual([`${id} 1`, `${id} 2`]);
  return Promise.all(ids.map((id) => h.waitForRun(id, (r) => r.attempt === 2 && r.state === 'running')));
}

it(
  'kills every process of its attempts within moments of a kill -9; the restarted agent reports them lost',
  { timeout: 120_000 },
  async () => {
    const stateDir = makeStateDir(env, 'agent-a');
    const marksFile = join(dir, 'a');
    const agent = await startAgent(env, { labels: { pool: 'a' }, slots: 5, stateDir, name: 'agent-a' });
    const ids = await startMarkedRuns('a', marksFile, 5);
    const procs = attemptProcesses(ids);
    // A shell and its sleep per attempt.
    expect(new Set(procs.map((p) => p.runId)).size).toBe(5);
    expect(procs.length).toBeGreaterThanOrEqual(10);
    const reaper = reaperOf(agent.proc.pid);
    expect(reaper).toBeDefined();

    const killedAt = Date.now();
    await agent.kill();
    await waitFor(() => (procs.every((p) => processGone(p.pid)) ? true : undefined), {
      timeoutMs: 10_000,
      description: 'every process of the killed agent’s attempts to be gone',
    });
    console.log(`kill -9 → last job process gone: ${Date.now() - killedAt} ms (${procs.length} processes, 5 attempts)`);
    // No execution started meanwhile, so none overlapped the killed ones.
    expect(readMarks(marksFile)).toHaveLength(5);
    await waitFor(() => (processGone(reaper as number) ? true : undefined), { description: 'the reaper to exit' });

    const restarted = await startAgent(env, { labels: { pool: 'a' }, slots: 5, stateDir, name: 'agent-a2' });
    const found = await restarted.proc.waitForLog(
      'a previous process of this agent left attempts behind: their processes were killed and they are reported lost',
    );
    // The reaper had killed them all: nothing was left to kill.
    expect((found.attempts as Array<{ runId: string; killed: number }>).map((a) => [a.runId, a.killed]).sort()).toEqual(
      ids.map((id) => [id, 0]).sort(),
    );
    const runs = await expectExecutedTwice(ids, marksFile);
    for (const run of runs) {
      expect(run.attempts[0]).toMatchObject({ attempt: 1, outcome: 'lost', error: LEFTOVER_ERROR });
      expect(run.agentId).toBe(restarted.agentId);
    }
    // The records of the first attempts are gone; those of the running second attempts are there.
    const records = readdirSync(join(stateDir, 'attempts')).map(
      (f) => JSON.parse(readFileSync(join(stateDir, 'attempts', f), 'utf8')) as { runId: string; attempt: number },
    );
    expect(records.map((r) => [r.runId, r.attempt]).sort()).toEqual(ids.map((id) => [id, 2]).sort());
  },
);

it('kills what an agent and its reaper both left, before the restarted agent registers', { timeout: 120_000 }, async () => {
  const stateDir = makeStateDir(env, 'agent-b');
  const marksFile = join(dir, 'b');
  const agent: StartedAgent = await startAgent(env, { labels: { pool: 'b' }, slots: 2, stateDir, name: 'agent-b' });
  const ids = await startMarkedRuns('b', marksFile, 2);
  const procs = attemptProcesses(ids);
  expect(procs.length).toBeGreaterThanOrEqual(4);
  const reaper = reaperOf(agent.proc.pid) as number;
  expect(reaper).toBeDefined();

  // Frozen first, so that it cannot replace its reaper; then both die.
  process.kill(agent.proc.pid, 'SIGSTOP');
  process.kill(reaper, 'SIGKILL');
  await waitFor(() => (processGone(reaper) ? true : undefined), { description: 'the reaper to die' });
  await agent.kill();
  // Nothing else kills them: they run on (past the reaper's grace) as leftovers.
  await new Promise((r) => setTimeout(r, 1_500));
  expect(procs.filter((p) => processGone(p.pid))).toEqual([]);

  const restarted = await startAgent(env, { labels: { pool: 'b' }, slots: 2, stateDir, name: 'agent-b2' });
  // Registered only once the leftovers were gone.
  expect(procs.filter((p) => !processGone(p.pid))).toEqual([]);
  expect(readMarks(marksFile)).toHaveLength(2);
  const lines = restarted.proc.lines.map((l) => l.json?.msg);
  const leftoverAt = lines.indexOf(
    'a previous process of this agent left attempts behind: their processes were killed and they are reported lost',
  );
  expect(leftoverAt).toBeGreaterThanOrEqual(0);
  expect(leftoverAt).toBeLessThan(lines.indexOf('agent registered'));
  const found = restarted.proc.lines[leftoverAt]?.json?.attempts as Array<{ runId: string; killed: number }>;
  for (const id of ids) expect(found.find((a) => a.runId === id)?.killed).toBeGreaterThanOrEqual(2);

  const runs = await expectExecutedTwice(ids, marksFile);
  for (const run of runs) expect(run.attempts[0]).toMatchObject({ attempt: 1, outcome: 'lost', error: LEFTOVER_ERROR });
});
