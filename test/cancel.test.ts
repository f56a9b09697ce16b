// Cancelling runs on a real agent: a queued run ends at once, a running one is stopped with its
// whole process tree (SIGTERM, then SIGKILL after the job's grace), a finished one is a 409.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  processGone,
  runHelpers,
  startAgent,
  startCoordinator,
  waitFor,
  type ApiClient,
  type Problem,
  type Run,
  type TestEnv,
} from './support/index.js';

let env: TestEnv;
let client: ApiClient;
let h: ReturnType<typeof runHelpers>;
let dir: string;

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env);
  client = api(coordinator.url);
  h = runHelpers(client);
  await startAgent(env, { slots: 2 });
  dir = mkdtempSync(join(tmpdir(), 'drover-cancel-'));
  env.onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
});
afterAll(async () => env?.cleanup());

it('cancels a queued run at once and takes it out of the queue', async () => {
  const jobId = await h.createJob({
    name: 'unplaceable',
    executor: { type: 'exec', command: ['true'] },
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'none' }],
  });
  const id = await h.trigger(jobId);
  await h.waitForRun(id, (r) => r.queueReason !== null);
  const res = await client.post<Run>(`/v1/runs/${id}/cancel`, { reason: 'not needed any more' });
  expect(res.status).toBe(200);
  expect(res.body.state).toBe('cancelled');
  expect(res.body.error).toBe('not needed any more');
  const run = await h.getRun(id);
  expect(run.transitions.map((t) => t.to)).toEqual(['queued', 'cancelled']);
});

it(
  'stops a running run with its whole process tree; a child ignoring SIGTERM is killed after the grace period',
  { timeout: 60_000 },
  async () => {
    const pidFile = join(dir, 'pids');
    const script = `sh -c 'trap "" TERM; echo $$ >> "$0"; exec sleep 300' "$1" &
echo $$ >> "$1"
exec sleep 300`;
    const jobId = await h.createJob({
      name: 'long-tree',
      executor: { type: 'exec', command: ['sh', '-c', script, 'sh', pidFile] },
      killGracePeriod: '1s',
      retry: { maxAttempts: 3 },
    });
    const id = await h.trigger(jobId);
    const pids = await waitFor(
      () => {
        const lines = (() => {
          try {
            return readFileSync(pidFile, 'utf8').split('\n').filter(Boolean);
          } catch {
            return [];
          }
        })();
        return lines.length === 2 ? lines.map(Number) : undefined;
      },
      { description: 'both processes to write their pids' },
    );
    const started = Date.now();
    const res = await client.post<Run>(`/v1/runs/${id}/cancel`, {});
    expect(res.status).toBe(202);
    expect(res.body.cancelRequestedAt).not.toBeNull();
    const run = await h.waitForRun(id);
    console.log(`cancel → cancelled in ${((Date.now() - started) / 1000).toFixed(2)} s (killGracePeriod 1 s)`);
    expect(run.state).toBe('cancelled');
    // Cancelled is final: the retry policy does not start another attempt.
    expect(run.attempts.map((a) => a.outcome)).toEqual(['cancelled']);
    await waitFor(() => (pids.every(processGone) ? true : undefined), { description: 'every process of the run to be gone' });
  },
);

it('cancels a run waiting between attempts, so no further attempt starts', async () => {
  const jobId = await h.createJob({
    name: 'waits-to-retry',
    executor: { type: 'exec', command: ['false'] },
    retry: { maxAttempts: 5, backoff: 'fixed', initialDelay: '1h' },
  });
  const id = await h.trigger(jobId);
  await h.waitForRun(id, (r) => r.state === 'retrying');
  const res = await client.post<Run>(`/v1/runs/${id}/cancel`, {});
  expect(res.status).toBe(200);
  expect(res.body.state).toBe('cancelled');
});

it('refuses to cancel a finished run with a 409 that says what to do instead', async () => {
  const jobId = await h.createJob({ name: 'quick', executor: { type: 'exec', command: ['true'] } });
  const id = await h.trigger(jobId);
  await h.waitForRun(id);
  const res = await client.post<Problem>(`/v1/runs/${id}/cancel`, {});
  expect(res.status).toBe(409);
  expect(res.body.detail).toMatch(/already ended succeeded/);
  expect(res.body.detail).toMatch(/POST \/v1\/runs\/.*\/retry/);
  const missing = await client.post<Problem>('/v1/runs/01NOSUCHRUN/cancel', {});
  expect(missing.status).toBe(404);
});
