// A queued run says why it waits for as long as it waits, and only then. The same job, with the
// same number of runs waiting behind the same reason, can have other runs waiting than a moment
// ago (one cancelled, one triggered): each queued run has the reason, and the alerts list it;
// a cancelled run keeps no queue reason.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  runHelpers,
  startAgent,
  startCoordinator,
  waitFor,
  type ApiClient,
  type Run,
  type TestEnv,
} from './support/index.js';

interface Alerts {
  unplaceable: Array<{ jobId: string; reason: string; queued: number }>;
}

const REASON = 'no agent matches label.region = ap';

let env: TestEnv;
let client: ApiClient;

beforeAll(async () => {
  env = await createTestEnv();
  client = api((await startCoordinator(env)).url);
  await startAgent(env, { labels: { region: 'eu' }, slots: 2, name: 'agent-eu' });
});
afterAll(async () => env?.cleanup());

it('gives every queued run its reason, and takes it from a run cancelled in the queue', { timeout: 60_000 }, async () => {
  const { createJob, trigger, waitForRun, getRun } = runHelpers(client);
  const job = await createJob({
    name: 'wants-ap',
    executor: { type: 'noop' },
    constraints: [{ attribute: 'label.region', operator: '=', value: 'ap' }],
  });
  const first = await trigger(job);
  expect((await waitForRun(first, (r) => r.queueReason !== null)).queueReason).toBe(REASON);

  const cancelled = await client.post<Run>(`/v1/runs/${first}/cancel`, { reason: 'not needed' });
  expect(cancelled.status).toBe(200);
  const ended = await getRun(first);
  expect(ended.state).toBe('cancelled');
  expect(ended.queueReason).toBeNull();

  // One run waits again, for the same reason: it must say so too, and be in the alerts.
  const second = await trigger(job);
  const waiting = await waitForRun(second, (r) => r.queueReason !== null, 15_000);
  expect(waiting.state).toBe('queued');
  expect(waiting.queueReason).toBe(REASON);
  const alert = await waitFor(async () => (await client.get<Alerts>('/v1/alerts')).body.unplaceable.find((u) => u.jobId === job), {
    description: 'the waiting run of wants-ap to be in the alerts',
  });
  expect(alert).toEqual(expect.objectContaining({ reason: REASON, queued: 1 }));
  expect((await getRun(first)).queueReason).toBeNull();
});

// A full fleet whose agents could take the job: its runs wait for a slot, and a reason written
// while no agent could take them (here: set by hand) must go with the next dispatch pass.
it('takes an old reason from runs that only wait for a slot', { timeout: 60_000 }, async () => {
  const { createJob, trigger, waitForRun } = runHelpers(client);
  const long = await createJob({
    name: 'fills-eu',
    executor: { type: 'exec', command: ['sleep', '60'] },
    constraints: [{ attribute: 'label.region', operator: '=', value: 'eu' }],
  });
  const busy = [await trigger(long), await trigger(long)];
  for (const id of busy) await waitForRun(id, (r) => r.state === 'running');
  const job = await createJob({
    name: 'waits-eu',
    executor: { type: 'noop' },
    constraints: [{ attribute: 'label.region', operator: '=', value: 'eu' }],
  });
  const waiting = await trigger(job);
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  try {
    await db.query(`UPDATE runs SET queue_reason = 'no agent matches label.region = eu' WHERE id = $1 AND state = 'queued'`, [waiting]);
  } finally {
    await db.end();
  }
  // Another trigger of the job makes a pass; the fleet is still full.
  await trigger(job);
  const run = await waitForRun(waiting, (r) => r.queueReason === null, 15_000);
  expect(run.state).toBe('queued');
  for (const id of busy) await client.post(`/v1/runs/${id}/cancel`, { reason: 'done' });
});
