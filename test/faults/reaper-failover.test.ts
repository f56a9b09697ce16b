// The scenario end to end: `kill -9` of an agent running 5 `sleep` jobs while another
// agent can take them. The killed agent's reaper ends every process of those attempts at once;
// the coordinator declares the agent down and retries each run on the other agent, where it
// executes a second time, never while the first was still running, and under `disconnect: stop`
// never before the job's `after` has passed. Executions are counted from a marks file.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  FAST_LIVENESS_ARGS,
  makeStateDir,
  processGone,
  readMarks,
  runHelpers,
  startAgent,
  startCoordinator,
  waitFor,
  type TestEnv,
} from '../support/index.js';

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
  return readMarks(marksFile).map((l) => {
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

// `stop`: the retry waits until the cut-off agent must have stopped the attempt (its last
// heartbeat + `after` + kill grace + margin), so it starts no earlier than `after` after the
// kill less one heartbeat. `keep`: the retry starts as soon as the agent is down.
const RULES = [
  { mode: 'stop', after: '8s', afterMs: 8_000, pool: 'stop' },
  { mode: 'keep', pool: 'keep' },
] as const;

it.each(RULES)(
  'disconnect $mode: kills the jobs of a kill -9ed agent at once; each run executes twice, never two at once',
  { timeout: 150_000 },
  async (rule) => {
    const victim = await startAgent(env, { labels: { pool: rule.pool }, slots: 5, name: `victim-${rule.mode}` });
    const jobId = await h.createJob({
      name: `outlive-failover-${rule.mode}`,
      executor: {
        type: 'exec',
        command: ['sh', '-c', `echo "$DROVER_RUN_ID $DROVER_ATTEMPT $(date +%s%3N)" >> ${marksFile}; sleep 60`],
      },
      killGracePeriod: '1s',
      disconnect: rule.mode === 'stop' ? { mode: 'stop', after: rule.after } : { mode: 'keep' },
      constraints: [{ attribute: 'label.pool', operator: '=', value: rule.pool }],
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await h.trigger(jobId));
    const mine = () => marks().filter((m) => ids.includes(m.runId));
    await waitFor(() => (mine().length === 5 ? true : undefined), { description: '5 executions to start on the victim' });
    const spare = await startAgent(env, { labels: { pool: rule.pool }, slots: 5, name: `spare-${rule.mode}` });
    const procs = attemptProcesses(ids);
    expect(procs.length).toBeGreaterThanOrEqual(10);

    const killedAt = Date.now();
    await victim.kill();
    await waitFor(() => (procs.every(processGone) ? true : undefined), {
      timeoutMs: 10_000,
      description: 'the victim’s job processes to be gone',
    });
    const goneAt = Date.now();
    console.log(
      `disconnect ${rule.mode}: kill -9 → last job process gone: ${goneAt - killedAt} ms (${procs.length} processes, 5 attempts)`,
    );

    await waitFor(() => (mine().length >= 10 ? true : undefined), { timeoutMs: 120_000, description: 'every run to start again' });
    const all = mine();
    const firstRetry = Math.min(...all.filter((m) => m.attempt === 2).map((m) => m.at));
    console.log(
      `disconnect ${rule.mode}: kill -9 → first retry started ${firstRetry - killedAt} ms, last ${Math.max(...all.map((m) => m.at)) - killedAt} ms`,
    );
    expect(all).toHaveLength(10);
    for (const id of ids) {
      const runMarks = all.filter((m) => m.runId === id);
      expect(runMarks.map((m) => m.attempt)).toEqual([1, 2]);
      // Never two at once: the retry started only after every process of the first was gone.
      expect(runMarks[1]!.at).toBeGreaterThanOrEqual(goneAt);
      // A correctness bound, not a speed figure: under `stop` no retry may start before the
      // cut-off agent would have stopped the attempt (the last heartbeat was at most 1 s before the kill).
      if (rule.mode === 'stop') expect(runMarks[1]!.at - killedAt).toBeGreaterThanOrEqual(rule.afterMs - 1_000);
    }
    const runs = await Promise.all(ids.map((id) => h.waitForRun(id, (r) => r.attempt === 2 && r.state === 'running')));
    for (const run of runs) {
      expect(run.agentId).toBe(spare.agentId);
      expect(run.attempts[0]).toMatchObject({ attempt: 1, outcome: 'lost' });
    }
  },
);
