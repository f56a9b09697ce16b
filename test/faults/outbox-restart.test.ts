// A run finishes while no coordinator can hear it, and its agent is then killed (SIGKILL) and
// started again with the same state dir: the result, kept in the outbox's journal, is replayed
// and delivered when a coordinator is back. The run succeeds at attempt 1, executed once.
// Without the journal the restarted agent would not hold the run, the coordinator would take
// it for lost and run it again (attempt 2, two executions).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, spawnDrover, startAgent, startCoordinator, waitFor, type Run, type TestEnv } from '../support/index.js';

let env: TestEnv;
let work: string;

beforeAll(async () => {
  env = await createTestEnv();
  work = mkdtempSync(join(tmpdir(), 'drover-outbox-restart-'));
  env.onCleanup(() => rmSync(work, { recursive: true, force: true }));
});
afterAll(async () => env?.cleanup());

/** Processes whose command line names `marker` (the job's own processes). */
function processesNaming(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

it(
  'delivers a result that finished while no coordinator listened, after a kill -9 and restart of its agent',
  { timeout: 120_000 },
  async () => {
    const marks = join(work, 'marks');
    const first = await startCoordinator(env);
    const agent = await startAgent(env, { slots: 2, name: 'agent' });
    const client = api(first.url);
    const job = (
      await client.post<{ id: string }>('/v1/jobs', {
        name: 'finishes-alone',
        executor: { type: 'exec', command: ['sh', '-c', `echo "$DROVER_RUN_ID $DROVER_ATTEMPT" >> ${marks}; sleep 2`] },
      })
    ).body;
    const run = (await client.post<{ id: string }>(`/v1/jobs/${job.id}/runs`, {})).body;
    await waitFor(async () => ((await client.get<Run>(`/v1/runs/${run.id}`)).body.state === 'running' ? true : undefined), {
      description: 'the run to be running',
    });

    await first.stop();
    // The agent says an attempt finished once its result is on disk.
    await agent.proc.waitForLog('attempt finished', 30_000, (j) => j.runId === run.id);
    await agent.kill();
    expect(agent.proc.exitStatus?.signal).toBe('SIGKILL');

    const again = spawnDrover(env, ['agent', '--slots', '2', '--allow-same-user'], { name: 'agent-again', stateDir: agent.stateDir });
    const replayed = await again.waitForLog('replaying run events no coordinator acknowledged before the agent stopped');
    console.log(`replayed after kill -9: ${JSON.stringify({ events: replayed.events, finished: replayed.finished })}`);
    const second = api((await startCoordinator(env)).url);
    const ended = await waitFor(
      async () => {
        const r = (await second.get<Run>(`/v1/runs/${run.id}`)).body;
        return ['succeeded', 'failed', 'lost', 'cancelled', 'timed_out'].includes(r.state) ? r : undefined;
      },
      { timeoutMs: 60_000, description: 'the run to end' },
    );
    // Let a wrongly re-dispatched attempt show itself before counting executions.
    await again.waitForLog('agent registered');
    await new Promise((r) => setTimeout(r, 3_000));
    const executions = readFileSync(marks, 'utf8').trim().split('\n');
    expect(executions).toEqual([`${run.id} 1`]);
    const now = (await second.get<Run>(`/v1/runs/${run.id}`)).body;
    expect(ended.state).toBe('succeeded');
    expect(now.state).toBe('succeeded');
    expect(now.attempt).toBe(1);
    expect(now.transitions.filter((t) => t.to === 'succeeded')).toHaveLength(1);
    expect(now.transitions.map((t) => t.to)).not.toContain('lost');
    expect(processesNaming(marks)).toEqual([]);
    await again.stop();
  },
);
