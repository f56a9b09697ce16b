// Job definitions carry a version, and a coordinator never acts on an older one than the
// database holds for longer than a sweep: the broadcast announcing a change is a nudge that may
// be lost. Here the change bypasses it entirely (written straight into the database, as a
// coordinator whose broadcast never left would leave it), and both coordinators of the cluster
// must pick up the new definition by their next sweep: the new command runs, not the old one.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, runHelpers, startAgent, startCoordinator, type ApiClient, type TestEnv } from './support/index.js';

const SWEEP_MS = 500;
let env: TestEnv;
let a: ApiClient;
let b: ApiClient;
let db: pg.Client;
let marks: string;

beforeAll(async () => {
  env = await createTestEnv();
  const dir = mkdtempSync(join(tmpdir(), 'drover-version-'));
  env.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  marks = join(dir, 'marks');
  a = api((await startCoordinator(env, ['--node-id', 'coordinator-a', '--reconcile-interval', `${SWEEP_MS}ms`])).url);
  b = api((await startCoordinator(env, ['--node-id', 'coordinator-b', '--reconcile-interval', `${SWEEP_MS}ms`])).url);
  await startAgent(env, { labels: { role: 'version' }, slots: 2 });
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  env.onCleanup(() => db.end());
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
});

const marking = (word: string) => ({ type: 'exec', command: ['sh', '-c', `echo "${word} $DROVER_RUN_ID" >> '${marks}'`] });
const marksOf = (word: string) =>
  existsSync(marks)
    ? readFileSync(marks, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith(`${word} `)).length
    : 0;

it('counts versions through the API', async () => {
  const created = await a.post<{ id: string; version: number }>('/v1/jobs', { name: 'counted', executor: { type: 'noop' } });
  expect(created.body.version).toBe(1);
  const patched = await b.patch<{ version: number }>(`/v1/jobs/${created.body.id}`, { priority: 60 });
  expect(patched.body.version).toBe(2);
  const paused = await a.post<{ version: number }>(`/v1/jobs/${created.body.id}/pause`);
  expect(paused.status).toBeLessThan(300);
  expect((await b.get<{ version: number }>(`/v1/jobs/${created.body.id}`)).body.version).toBe(3);
});

it('acts on a definition changed without a broadcast within a sweep, on every coordinator', { timeout: 60_000 }, async () => {
  const ra = runHelpers(a);
  const rb = runHelpers(b);
  const job = await ra.createJob({
    name: 'silently-changed',
    executor: marking('old'),
    constraints: [{ attribute: 'label.role', operator: '=', value: 'version' }],
  });
  // Both coordinators cache the job: a run triggered through each, dispatched by the leader.
  await ra.waitForRun(await ra.trigger(job));
  await rb.waitForRun(await rb.trigger(job));
  expect(marksOf('old')).toBe(2);

  await db.query(
    `UPDATE jobs SET definition = jsonb_set(definition, '{executor}', $2::jsonb), version = version + 1, updated_at = now() WHERE id = $1`,
    [job, JSON.stringify(marking('new'))],
  );
  // One sweep, and one more for a sweep that had begun before the change.
  await sleep(2 * SWEEP_MS + 200);
  for (const r of [ra, rb, ra, rb]) expect((await r.waitForRun(await r.trigger(job))).state).toBe('succeeded');
  console.log(`job version: after the silent change ${marksOf('new')} runs of the new command, ${marksOf('old') - 2} of the old`);
  expect(marksOf('old')).toBe(2);
  expect(marksOf('new')).toBe(4);
  expect((await b.get<{ version: number }>(`/v1/jobs/${job}`)).body.version).toBe(2);
});
