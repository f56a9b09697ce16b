// Retries, dead letters and queue expiry on a real coordinator and a real agent process: what
// an operator sees when a job keeps failing — each attempt on record with its own outcome and
// timing, the backoff the policy promised, the dead letter, and the replay that runs it again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  runHelpers,
  startAgent,
  startCoordinator,
  type ApiClient,
  type Problem,
  type Run,
  type TestEnv,
} from './support/index.js';

let env: TestEnv;
let client: ApiClient;
let h: ReturnType<typeof runHelpers>;
let scratch: string;

interface DeadLetter {
  runId: string;
  jobName: string;
  attempt: number;
  state: string;
  reason: string;
  resolution: string | null;
}

const ms = (iso: string | null): number => (iso === null ? NaN : Date.parse(iso));

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env);
  client = api(coordinator.url);
  h = runHelpers(client);
  await startAgent(env, { slots: 4, name: 'agent' });
  scratch = mkdtempSync(join(tmpdir(), 'drover-retries-'));
  env.onCleanup(async () => rmSync(scratch, { recursive: true, force: true }));
});
afterAll(async () => env?.cleanup());

describe('retry policy', () => {
  it('retries a failing job with exponential backoff: each attempt recorded, started no earlier than its retry time', async () => {
    const jobId = await h.createJob({
      name: 'always-fails',
      executor: { type: 'exec', command: ['sh', '-c', 'echo "attempt $DROVER_ATTEMPT"; exit 1'] },
      retry: { maxAttempts: 4, backoff: 'exponential', initialDelay: '500ms', multiplier: 2, maxDelay: '10s' },
    });
    const run = await h.waitForRun(await h.trigger(jobId), undefined, 60_000);
    expect(run.state).toBe('failed');
    expect(run.attempt).toBe(4);
    expect(run.attempts.map((a) => [a.attempt, a.outcome, a.exitCode])).toEqual([
      [1, 'failed', 1],
      [2, 'failed', 1],
      [3, 'failed', 1],
      [4, 'failed', 1],
    ]);
    // The policy's delays (no jitter): 0.5 s, 1 s, 2 s after each failure.
    const expected = [500, 1000, 2000];
    const gaps: number[] = [];
    expected.forEach((delay, i) => {
      const prev = run.attempts[i]!;
      const next = run.attempts[i + 1]!;
      expect(ms(prev.retryAt) - ms(prev.finishedAt)).toBe(delay);
      expect(ms(next.startedAt)).toBeGreaterThanOrEqual(ms(prev.retryAt));
      // Generous tolerance: the scheduler wakes at the retry time; the rest is dispatch and a process start.
      expect(ms(next.startedAt) - ms(prev.retryAt)).toBeLessThan(10_000);
      gaps.push(ms(next.startedAt) - ms(prev.finishedAt));
    });
    console.log(`backoff: policy 500/1000/2000 ms; finish → next start measured ${gaps.join('/')} ms`);
    expect(run.attempts[3]!.retryAt).toBeNull();
    // Each attempt keeps its own timing and resource usage.
    for (const a of run.attempts) {
      expect(a.durationMs).not.toBeNull();
      expect(ms(a.finishedAt)).toBeGreaterThanOrEqual(ms(a.startedAt));
      expect(a.agentId).not.toBeNull();
    }
    expect(run.transitions.filter((t) => t.to === 'retrying')).toHaveLength(3);
    // Every attempt keeps its own logs.
    const logs = await h.allLogs(run.id);
    expect(
      [1, 2, 3, 4].map((n) =>
        logs
          .filter((c) => c.attempt === n)
          .map((c) => c.data)
          .join(''),
      ),
    ).toEqual([1, 2, 3, 4].map((n) => `attempt ${n}\n`));
  });

  it('stops at a non-retryable exit code, dead-letters the run, and a replay runs it again', async () => {
    const marker = join(scratch, 'second-time');
    const jobId = await h.createJob({
      name: 'bad-config',
      executor: { type: 'exec', command: ['sh', '-c', `test -f ${marker} && exit 0; touch ${marker}; exit 78`] },
      retry: { maxAttempts: 5, initialDelay: '100ms', nonRetryableExitCodes: ['64-78'] },
    });
    const run = await h.waitForRun(await h.trigger(jobId));
    expect(run.state).toBe('failed');
    expect(run.attempts).toHaveLength(1);
    const open = (await client.get<{ items: DeadLetter[]; total: number }>(`/v1/dead-letters?job=bad-config`)).body;
    expect(open.total).toBe(1);
    expect(open.items[0]).toMatchObject({ runId: run.id, jobName: 'bad-config', state: 'failed', attempt: 1, resolution: null });
    expect(open.items[0]!.reason).toMatch(/exited with code 78, which the job marks non-retryable/);

    const replay = await client.post<Run>(`/v1/dead-letters/${run.id}/replay`, {});
    expect(replay.status, JSON.stringify(replay.body)).toBe(202);
    const again = await h.waitForRun(run.id, (r) => r.state === 'succeeded');
    expect(again.attempts.map((a) => a.outcome)).toEqual(['failed', 'succeeded']);
    const after = (await client.get<{ items: DeadLetter[] }>(`/v1/dead-letters?job=bad-config&status=all`)).body;
    expect(after.items[0]).toMatchObject({ runId: run.id, resolution: 'replayed' });
    expect((await client.get<{ total: number }>(`/v1/dead-letters?job=bad-config`)).body.total).toBe(0);
    // Replaying what is no longer open is a clear 409.
    const twice = await client.post<Problem>(`/v1/dead-letters/${run.id}/replay`, {});
    expect(twice.status).toBe(409);
    expect(twice.body.detail).toMatch(/already replayed/);
  });

  it('retries a finished run by hand with a fresh budget, and refuses one that is still running', async () => {
    const jobId = await h.createJob({ name: 'flaky', executor: { type: 'exec', command: ['sh', '-c', 'exit 3'] } });
    const id = await h.trigger(jobId);
    const failed = await h.waitForRun(id);
    expect(failed.state).toBe('failed');
    const res = await client.post<Run>(`/v1/runs/${id}/retry`, {});
    expect(res.status).toBe(202);
    expect(res.body.state).toBe('queued');
    const again = await h.waitForRun(id, (r) => r.attempts.length === 2 && r.state === 'failed');
    expect(again.transitions.some((t) => t.reason === 'retried by hand')).toBe(true);

    const slow = await h.createJob({ name: 'slow', executor: { type: 'exec', command: ['sleep', '30'] } });
    const running = await h.trigger(slow);
    await h.waitForRun(running, (r) => r.state === 'running');
    const refused = await client.post<Problem>(`/v1/runs/${running}/retry`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/is running, not finished/);
    await client.post(`/v1/runs/${running}/cancel`, {});
  });

  it('dismisses dead letters in bulk by filter, and asks for a filter before touching them all', async () => {
    const jobId = await h.createJob({ name: 'noisy', executor: { type: 'exec', command: ['false'] } });
    const ids = await Promise.all([1, 2, 3].map(() => h.trigger(jobId)));
    await Promise.all(ids.map((id) => h.waitForRun(id)));
    const unfiltered = await client.post<Problem>('/v1/dead-letters/dismiss', {});
    expect(unfiltered.status).toBe(400);
    expect(unfiltered.body.detail).toMatch(/give a filter/);
    const res = await client.post<{ count: number; runIds: string[] }>('/v1/dead-letters/dismiss', { job: 'noisy' });
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(3);
    expect(res.body.runIds.sort()).toEqual([...ids].sort());
    expect((await client.get<{ total: number }>('/v1/dead-letters?job=noisy')).body.total).toBe(0);
    expect((await client.get<{ total: number }>('/v1/dead-letters?job=noisy&status=dismissed')).body.total).toBe(3);
  });
});

describe('maxQueueTime', () => {
  it('expires a run no agent can take, saying what it waited for', async () => {
    const jobId = await h.createJob({
      name: 'nowhere',
      executor: { type: 'exec', command: ['true'] },
      constraints: [{ attribute: 'label.region', operator: '=', value: 'mars' }],
      maxQueueTime: '1s',
    });
    const run = await h.waitForRun(await h.trigger(jobId), (r) => r.state === 'expired');
    expect(run.error).toMatch(/waited longer than its maxQueueTime of 1s for an agent: no agent matches label.region = mars/);
    expect(run.transitions.map((t) => t.to)).toEqual(['queued', 'expired']);
    expect(run.attempts).toEqual([]);
  });
});

describe('parameters', () => {
  it('reach the process as DROVER_PARAM_* and through {{ param.* }} in exec arguments, verbatim', async () => {
    const jobId = await h.createJob({
      name: 'greet',
      executor: {
        type: 'exec',
        command: [
          'sh',
          '-c',
          'printf "%s|%s|%s|%s\\n" "$1" "$DROVER_PARAM_WHO" "$DROVER_ATTEMPT" "$DROVER_RUN_ID"',
          'greet',
          '{{ param.who }}',
        ],
      },
      parameters: { who: 'nobody' },
    });
    const tricky = '; rm -rf / $(id) `id` \n ../../etc/passwd';
    const id = await h.trigger(jobId, { who: tricky });
    const run = await h.waitForRun(id);
    expect(run.state).toBe('succeeded');
    const out = (await h.allLogs(id)).map((c) => c.data).join('');
    expect(out).toBe(`${tricky}|${tricky}|1|${id}\n`);
  });

  it('refuses a trigger missing a parameter the executor uses, naming it', async () => {
    const jobId = await h.createJob({ name: 'needs-day', executor: { type: 'exec', command: ['echo', '{{ param.day }}'] } });
    const res = await client.post<Problem>(`/v1/jobs/${jobId}/runs`, {});
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'parameters.day', message: expect.stringMatching(/\{\{ param.day \}\}/) }]);
  });
});
