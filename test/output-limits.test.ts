// A job that prints 50 MiB on a real agent, with the default logLimit (10 MiB): the run
// succeeds, the log holds the first 10 MiB and ends with a marker saying what was dropped, the
// run reports the totals and the last lines (taken from the dropped part), and the agent's
// memory stays bounded because dropped output is never buffered.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, runHelpers, startAgent, startCoordinator, type StartedAgent, type TestEnv } from './support/index.js';

const MiB = 1024 * 1024;
/** The agent's log chunks are at most 16 KiB. */
const CHUNK_BYTES = 16 * 1024;
/** Generous: the agent idles well under 150 MiB; buffering the dropped 40 MiB would show. */
const AGENT_PEAK_RSS_BOUND = 300 * MiB;

// 51,200 lines of 1,024 bytes: exactly 50 MiB, the last line marking the end.
const SCRIPT = `yes "$(printf %1023d 0 | tr 0 x)" | head -n 51199; printf '%-1023s\\n' 'the very end'`;

let env: TestEnv;
let h: ReturnType<typeof runHelpers>;
let agent: StartedAgent;

/** VmHWM (peak resident set) of a process, in bytes. */
function peakRss(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) * 1024;
}

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env);
  h = runHelpers(api(coordinator.url));
  agent = await startAgent(env, { labels: { pool: 'output-limits' } });
});
afterAll(async () => env?.cleanup());

it('keeps the first 10 MiB of a 50 MiB output, marks the cut, and keeps the agent small', { timeout: 120_000 }, async () => {
  const before = peakRss(agent.proc.pid);
  const jobId = await h.createJob({
    name: 'prints-50-mib',
    executor: { type: 'exec', command: ['sh', '-c', SCRIPT] },
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'output-limits' }],
  });
  const run = await h.waitForRun(await h.trigger(jobId), undefined, 90_000);
  expect(run.state).toBe('succeeded');
  const after = peakRss(agent.proc.pid);

  const logs = await h.allLogs(run.id);
  const bytes = logs.reduce((n, c) => n + Buffer.byteLength(c.data), 0);
  expect(bytes).toBeGreaterThanOrEqual(10 * MiB);
  expect(bytes).toBeLessThanOrEqual(10 * MiB + CHUNK_BYTES);
  expect(logs.map((c) => c.seq)).toEqual(logs.map((_, i) => i));
  const last = logs.at(-1);
  expect(last?.stream).toBe('stderr');
  expect(last?.data).toBe("[drover] output truncated: kept the first 10MiB of 50MiB; 40MiB dropped (the job's logLimit is 10MiB)\n");

  expect(run).toMatchObject({ outputBytes: 50 * MiB, droppedBytes: 40 * MiB });
  // The last lines come from the dropped part: the end of the output.
  expect(run.lastLines.length).toBeGreaterThan(0);
  expect(run.lastLines.length).toBeLessThanOrEqual(20);
  expect(run.lastLines.reduce((n, l) => n + Buffer.byteLength(l), 0)).toBeLessThanOrEqual(4096);
  expect(run.lastLines.at(-1)?.startsWith('the very end')).toBe(true);
  for (const line of run.lastLines) expect([...line].length).toBeLessThanOrEqual(500);

  console.log(
    `output-limits: agent peak RSS (VmHWM) ${(before / MiB).toFixed(1)} MiB before the run, ${(after / MiB).toFixed(1)} MiB after 50 MiB of output`,
  );
  expect(after).toBeLessThan(AGENT_PEAK_RSS_BOUND);
});
