// Each attempt runs in its own scratch directory, `<state-dir>/work/<run>-<attempt>`, also named
// by $DROVER_WORK_DIR: gone once the attempt succeeded; kept after a failure for the agent's
// --scratch-retention, then swept. A directory past its retention is swept at start too.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, runHelpers, startAgent, startCoordinator, waitFor, type ApiClient, type TestEnv } from './support/index.js';

let env: TestEnv;
let client: ApiClient;
let work: string;
let elsewhere: string;
let h: ReturnType<typeof runHelpers>;

beforeAll(async () => {
  env = await createTestEnv();
  client = api((await startCoordinator(env)).url);
  h = runHelpers(client);
  const stateDir = realpathSync(mkdtempSync(join(tmpdir(), 'drover-scratch-')));
  elsewhere = realpathSync(mkdtempSync(join(tmpdir(), 'drover-scratch-cwd-')));
  env.onCleanup(() => {
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });
  work = join(stateDir, 'work');
  // Left by an earlier process of the agent, a day ago: older than any retention.
  mkdirSync(join(work, 'old-run-1'), { recursive: true });
  writeFileSync(join(work, 'old-run-1', 'left.txt'), 'old');
  const dayAgo = new Date(Date.now() - 86_400_000);
  utimesSync(join(work, 'old-run-1'), dayAgo, dayAgo);
  await startAgent(env, { stateDir, extraArgs: ['--scratch-retention', '8s'] });
}, 60_000);
afterAll(async () => env?.cleanup());

/** A job that writes a file into its working directory, prints where it is, and exits with `code`. */
const writer = (name: string, code: number, cwd?: string) =>
  h.createJob({
    name,
    executor: {
      type: 'exec',
      command: ['sh', '-c', `echo "$DROVER_RUN_ID" > made-here.txt; pwd; echo "$DROVER_WORK_DIR"; exit ${code}`],
      ...(cwd ? { cwd } : {}),
    },
    retry: { maxAttempts: 1 },
  });

it('sweeps a directory past its retention when the agent starts', () => {
  expect(existsSync(join(work, 'old-run-1'))).toBe(false);
});

it('runs an attempt in its own directory, and removes it once the attempt succeeded', { timeout: 60_000 }, async () => {
  const runId = await h.trigger(await writer('succeeds', 0));
  const run = await h.waitForRun(runId);
  expect(run.state).toBe('succeeded');
  const dir = join(work, `${runId}-1`);
  expect((await h.outputBytes(runId, 'stdout')).toString()).toBe(`${dir}\n${dir}\n`);
  expect(existsSync(dir)).toBe(false);
});

it('keeps the directory of a failed attempt for the retention, then sweeps it', { timeout: 60_000 }, async () => {
  const runId = await h.trigger(await writer('fails', 3));
  const run = await h.waitForRun(runId);
  expect(run.state).toBe('failed');
  const dir = join(work, `${runId}-1`);
  expect((await h.outputBytes(runId, 'stdout')).toString()).toBe(`${dir}\n${dir}\n`);
  expect(readFileSync(join(dir, 'made-here.txt'), 'utf8')).toBe(`${runId}\n`);
  await waitFor(() => (existsSync(dir) ? undefined : true), { timeoutMs: 40_000, description: 'the kept directory to be swept' });
});

it('runs a job that names its cwd there, and still gives it a directory of its own', { timeout: 60_000 }, async () => {
  const runId = await h.trigger(await writer('own-cwd', 0, elsewhere));
  expect((await h.waitForRun(runId)).state).toBe('succeeded');
  expect((await h.outputBytes(runId, 'stdout')).toString()).toBe(`${elsewhere}\n${join(work, `${runId}-1`)}\n`);
  expect(readFileSync(join(elsewhere, 'made-here.txt'), 'utf8')).toBe(`${runId}\n`);
});
