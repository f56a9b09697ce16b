// The scenario end to end: `kill -9` of an agent running 5 `sleep` jobs while another
// agent can take them. The killed agent's reaper ends every process of those attempts at once;
// the coordinator declares the agent down and retries each run on the other agent, where it
// executes a second time, never while the first was still running. Retry timing is the
// coordinator's business (and a job's `disconnect` setting): only executions are asserted.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  FAST_LIVENESS_ARGS,
  makeStateDir,
  processGone,
  runHelpers,
  startAgent,
  startCoordinator,
  waitFor,
  type TestEnv,
} from './support/index.js';

let env: TestEnv;
let h: ReturnType<typeof runHelpers>;
let marksFile: string;

beforeAll(async () => {
  env = await createTestEnv();
  h = runHelpers(api((await startCoordinator(env, FAST_LIVENESS_ARGS)).url));
  marksFile = join(makeStateDir(env, 'marks'), 'marks');
});
afterAll(async () => env?.cleanup());

/** `runId attempt startedAtMs` per execution started, in order. */
function marks(): Array<{ runId: string; attempt: number; at: number }> {
  let text = '';
  try {
    text = readFileSync(marksFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [runId = '', attempt, at] = l.split(' ');
      return { runId, attempt: Number(attempt), at: Number(at) };
    });
}

/** The live processes (zombies excluded) whose environment names one of `runIds`. */
function attemptProcesses(runIds: readonly string[]): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const vars = readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
      if (runIds.some((id) => vars.includes(`DROVER_RUN_ID=${id}`)) && !processGone(Number(name))) found.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

it('kills the jobs of a kill -9ed agent at once; each run executes twice in all, never two at once', { timeout: 150_000 }, async () => {
  const victim = await startAgent(env, { labels: { pool: 'c' }, slots: 5, name: 'victim' });
  const jobId = await h.createJob({
    name: 'outlive-failover',
    executor: {
      type: 'exec',
      command: ['sh', '-c', `echo "$DROVER_RUN_ID $DROVER_ATTEMPT $(date +%s%3N)" >> ${marksFile}; sleep 60`],
    },
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'c' }],
  });
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await h.trigger(jobId));
  await waitFor(() => (marks().length === 5 ? true : undefined), { description: '5 executions to start on the victim' });
  const spare = await startAgent(env, { labels: { pool: 'c' }, slots: 5, name: 'spare' });
  const procs = attemptProcesses(ids);
  expect(procs.length).toBeGreaterThanOrEqual(10);

  const killedAt = Date.now();
  await victim.kill();
  await waitFor(() => (procs.every(processGone) ? true : undefined), {
    timeoutMs: 10_000,
    description: 'the victim’s job processes to be gone',
  });
  const goneAt = Date.now();
  console.log(`kill -9 → last job process gone: ${goneAt - killedAt} ms (${procs.length} processes, 5 attempts)`);

  await waitFor(() => (marks().length >= 10 ? true : undefined), { timeoutMs: 120_000, description: 'every run to start again' });
  const all = marks();
  console.log(`kill -9 → last retry started: ${Math.max(...all.map((m) => m.at)) - killedAt} ms`);
  expect(all).toHaveLength(10);
  for (const id of ids) {
    const mine = all.filter((m) => m.runId === id);
    expect(mine.map((m) => m.attempt)).toEqual([1, 2]);
    // Never two at once: the retry started only after every process of the first was gone.
    expect(mine[1]!.at).toBeGreaterThanOrEqual(goneAt);
  }
  const runs = await Promise.all(ids.map((id) => h.waitForRun(id, (r) => r.attempt === 2 && r.state === 'running')));
  for (const run of runs) {
    expect(run.agentId).toBe(spare.agentId);
    expect(run.attempts[0]).toMatchObject({ attempt: 1, outcome: 'lost' });
  }
});
