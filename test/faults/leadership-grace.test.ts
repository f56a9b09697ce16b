// Fair liveness across a real leadership change (DESIGN guarantee 4): a new leader judges no agent
// for silence it could not have heard until it has led for one down-deadline. Two coordinators,
// two agents. The live agent runs two `keep` runs (a wrongful `down` would re-run them at once);
// its beats are made to go unheard across the change by pausing it (SIGSTOP) from shortly before
// the leader's `kill -9` until the survivor has taken the lease — a deterministic stand-in for
// beats lost with the dead leader — so at the takeover its silence is past the deadline. The
// other agent is killed with the leader: it truly died, and it is declared down, one deadline
// after the takeover. The live agent never is, and each run executes once, at attempt 1.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  leaderOf,
  makeStateDir,
  markingExecutor,
  overlappingExecutions,
  readExecutions,
  runHelpers,
  sleep,
  startAgent,
  startCoordinator,
  waitFor,
  type StartedCoordinator,
  type TestEnv,
} from '../support/index.js';

// Beats every second, down after 6 s of silence (3 missed beats and a grace would be 4 s).
const LIVENESS = ['--heartbeat-interval', '1s', '--agent-down-after', '6s', '--reconcile-interval', '500ms'];
const DOWN_LINE = 'agents stopped heartbeating and are now down';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.cleanup());

const downLinesOf = (c: StartedCoordinator) => c.proc.lines.filter((l) => l.json?.msg === DOWN_LINE).map((l) => l.json?.agents);

it('a new leader marks no live agent down for silence it could not have heard; a dead one is', { timeout: 120_000 }, async () => {
  const a = await startCoordinator(env, ['--node-id', 'coordinator-a', ...LIVENESS]);
  const b = await startCoordinator(env, ['--node-id', 'coordinator-b', ...LIVENESS]);
  const live = await startAgent(env, { slots: 2, labels: { pool: 'live' } });
  const doomed = await startAgent(env, { slots: 2, labels: { pool: 'doomed' } });
  const marks = join(makeStateDir(env, 'marks'), 'marks');
  const h = runHelpers(api(a.url));
  const job = await h.createJob({
    name: 'spans-the-change',
    executor: markingExecutor(marks, 20),
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'live' }],
    // Re-dispatched as soon as its agent is down, and retried: a wrongful `down` shows as a second execution.
    disconnect: { mode: 'keep' },
    retry: { maxAttempts: 3, backoff: 'fixed', initialDelay: '1s', jitter: 0 },
  });
  const runs = [await h.trigger(job), await h.trigger(job)];
  await waitFor(() => readExecutions(marks).length === 2 || undefined, { description: 'both runs to start' });

  const leader = await leaderOf([a, b]);
  const survivor = leader === a ? b : a;
  const s = api(survivor.url);
  const stateOf = async (agentId: string) => (await s.get<{ state: string }>(`/v1/agents/${agentId}`)).body.state;
  process.kill(live.proc.pid, 'SIGSTOP');
  try {
    await sleep(3000);
    await leader.proc.kill();
    await doomed.kill();
    const killedAt = Date.now();
    const took = await survivor.proc.waitForLog('took the dispatcher lease', 20_000);
    const tookAfterMs = Date.parse(String(took.time)) - killedAt;
    process.kill(live.proc.pid, 'SIGCONT');

    // The live agent as the new leader sees it, until the dead one is declared down.
    const liveStates = new Set<string>();
    await waitFor(
      async () => {
        liveStates.add(await stateOf(live.agentId));
        return (await stateOf(doomed.agentId)) === 'down' || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, description: 'the dead agent to be declared down' },
    );
    const downAfterMs = Date.now() - killedAt;
    for (const id of runs) expect((await runHelpers(s).waitForRun(id, undefined, 40_000)).state).toBe('succeeded');
    liveStates.add(await stateOf(live.agentId));
    const executions = readExecutions(marks);
    console.log(
      `leader kill -9 → survivor led after ${tookAfterMs} ms; live agent silent from 3 s before the kill until then; ` +
        `dead agent down after ${downAfterMs} ms; runs 2, executions ${executions.length}, live agent states ${[...liveStates].join(',')}`,
    );

    expect(downLinesOf(survivor)).toEqual([[doomed.agentId]]);
    expect([...liveStates]).toEqual(['ready']);
    const attempts = await Promise.all(runs.map(async (id) => (await runHelpers(s).getRun(id)).attempt));
    expect(attempts).toEqual([1, 1]);
    expect(executions.map((e) => [e.runId, e.attempt, e.how]).sort()).toEqual(runs.map((id) => [id, 1, 'finished']).sort());
    expect(overlappingExecutions(executions)).toEqual([]);
  } finally {
    process.kill(live.proc.pid, 'SIGCONT');
  }
  await live.stop();
});
