// Overlap policies with a job that runs longer than its interval: every second, a noop that
// sleeps 2.5 s, on one agent with plenty of slots. Four jobs, one per policy, fire side by
// side for about seven seconds, are paused, and are judged once their runs have settled:
// `forbid` skips, `queue` keeps at most one waiting, `replace` cancels the older run, and
// `allow` is bounded by maxConcurrentRuns. Every fire leaves exactly one run, whatever it did.
import { beforeAll, describe, expect, it } from 'vitest';
import { sleep, useCluster, waitFor, type Run } from './support/index.js';

/** What one policy's job did, and what was seen while it fired. */
interface Outcome {
  jobId: string;
  /** Every run of the job once settled, by fire time. */
  runs: Run[];
  /** Most runs seen at once in each state group while the job fired. */
  maxActive: number;
  maxWaiting: number;
}

const FIRING_MS = 7000;
const LIVE = ['pending', 'queued', 'offered', 'running', 'retrying'];
const ACTIVE = ['queued', 'offered', 'running'];
const ms = (iso: string | null) => (iso === null ? NaN : Date.parse(iso));

const cluster = useCluster({ agents: [{ slots: 16, name: 'agent' }] });
const { client } = cluster;
const outcomes = new Map<string, Outcome>();

async function runsOf(jobId: string): Promise<Run[]> {
  const res = await client.get<{ items: Run[]; total: number }>(`/v1/runs?job=${jobId}&limit=1000`);
  expect(res.status).toBe(200);
  return res.body.items;
}

/** Creates the job, watches it fire for FIRING_MS, pauses it and waits for its runs to settle. */
async function scenario(name: string, schedule: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Outcome> {
  const created = await client.post<{ id: string }>('/v1/jobs', {
    name,
    executor: { type: 'noop', sleep: '2500ms' },
    schedule: { every: '1s', ...schedule },
    ...extra,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const jobId = created.body.id;
  let maxActive = 0;
  let maxWaiting = 0;
  const until = Date.now() + FIRING_MS;
  while (Date.now() < until) {
    const runs = await runsOf(jobId);
    maxActive = Math.max(maxActive, runs.filter((r) => ACTIVE.includes(r.state)).length);
    maxWaiting = Math.max(maxWaiting, runs.filter((r) => r.state === 'pending').length);
    await sleep(100);
  }
  expect((await client.post(`/v1/jobs/${jobId}/pause`)).status).toBe(200);
  const settled = await waitFor(
    async () => {
      const runs = await runsOf(jobId);
      return runs.some((r) => LIVE.includes(r.state)) ? undefined : runs;
    },
    { timeoutMs: 30_000, intervalMs: 200, description: `the runs of ${name} to settle` },
  );
  const runs = await Promise.all(
    settled.sort((a, b) => ms(a.fireAt) - ms(b.fireAt)).map(async (r) => (await client.get<Run>(`/v1/runs/${r.id}`)).body),
  );
  return { jobId, runs, maxActive, maxWaiting };
}

function outcome(policy: string): Outcome {
  const o = outcomes.get(policy);
  if (!o) throw new Error(`no outcome for ${policy}`);
  return o;
}

/** Most runs running at the same instant, from their start and finish times (a finish before a start at a tie). */
function mostAtOnce(runs: Run[]): number {
  const events = runs.flatMap((r) => [
    { at: ms(r.startedAt), delta: 1 },
    { at: ms(r.finishedAt), delta: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0;
  let most = 0;
  for (const e of events) {
    now += e.delta;
    most = Math.max(most, now);
  }
  return most;
}

/** Every fire in the scenario has exactly one run: whole seconds, one apart, none twice. */
function expectOneRunPerFire(runs: Run[]): void {
  const fires = runs.map((r) => ms(r.fireAt));
  expect(fires.every((f) => f % 1000 === 0)).toBe(true);
  expect(fires.slice(1).map((f, i) => f - fires[i]!)).toEqual(fires.slice(1).map(() => 1000));
  for (const r of runs) expect(r.trigger).toBe('schedule');
}

const withState = (runs: Run[], ...states: string[]) => runs.filter((r) => states.includes(r.state));

beforeAll(async () => {
  const [forbid, queue, replace, allow] = await Promise.all([
    scenario('overlap-forbid', { overlap: 'forbid' }),
    scenario('overlap-queue', { overlap: 'queue' }),
    scenario('overlap-replace', { overlap: 'replace' }),
    scenario('overlap-allow-2', { overlap: 'allow' }, { maxConcurrentRuns: 2 }),
  ]);
  outcomes.set('forbid', forbid);
  outcomes.set('queue', queue);
  outcomes.set('replace', replace);
  outcomes.set('allow', allow);
}, 90_000);

describe('overlap policies with a job longer than its interval', () => {
  it('forbid: a fire during a run is recorded as skipped, and runs never overlap', () => {
    const { runs, maxActive } = outcome('forbid');
    expectOneRunPerFire(runs);
    expect(runs.length).toBeGreaterThanOrEqual(5);
    const skipped = withState(runs, 'skipped');
    expect(skipped.length).toBeGreaterThanOrEqual(2);
    for (const r of skipped) expect(r.skipReason).toContain('forbid');
    const ran = withState(runs, 'succeeded');
    expect(ran.length).toBeGreaterThanOrEqual(2);
    expect(ran.length + skipped.length).toBe(runs.length);
    expect(mostAtOnce(ran)).toBe(1);
    expect(maxActive).toBeLessThanOrEqual(1);
  });

  it('queue: a fire during a run waits as pending (one at most), then runs after it; further fires are skipped', () => {
    const { runs, maxWaiting, maxActive } = outcome('queue');
    expectOneRunPerFire(runs);
    const ran = withState(runs, 'succeeded');
    const skipped = withState(runs, 'skipped');
    expect(ran.length + skipped.length).toBe(runs.length);
    expect(skipped.length).toBeGreaterThanOrEqual(1);
    for (const r of skipped) expect(r.skipReason).toContain('queue');
    // Some runs waited first, and were released when the previous run ended.
    const waited = ran.filter((r) => r.transitions?.[0]?.to === 'pending');
    expect(waited.length).toBeGreaterThanOrEqual(1);
    for (const r of waited) {
      expect(r.transitions?.map((t) => t.to)).toEqual(['pending', 'queued', 'offered', 'running', 'succeeded']);
      expect(r.transitions?.[1]?.reason).toBe('the previous run ended');
    }
    // At most one waiting at a time: the spans from creation to release never overlap.
    const waits = waited.map((r) => ({ ...r, startedAt: r.createdAt, finishedAt: r.queuedAt }));
    expect(mostAtOnce(waits)).toBe(1);
    expect(maxWaiting).toBeLessThanOrEqual(1);
    expect(mostAtOnce(ran)).toBe(1);
    expect(maxActive).toBeLessThanOrEqual(1);
  });

  it('replace: a fire cancels the running run and starts its own; the newest runs to the end', () => {
    const { runs } = outcome('replace');
    expectOneRunPerFire(runs);
    const newest = runs[runs.length - 1]!;
    expect(newest.state).toBe('succeeded');
    const older = runs.slice(0, -1);
    // Two fires handled in one tick (a slow tick) replace the earlier before it starts: skipped.
    for (const r of withState(older, 'skipped')) expect(r.skipReason).toContain('replace');
    const cancelled = withState(older, 'cancelled');
    expect(cancelled.length + withState(older, 'skipped').length).toBe(older.length);
    expect(cancelled.length).toBeGreaterThanOrEqual(3);
    for (const r of cancelled) expect(r.error).toContain('replace');
    // Replaced runs were stopped on the agent while running, not only before they began.
    expect(cancelled.filter((r) => r.startedAt !== null && r.transitions?.some((t) => t.to === 'running')).length).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('allow with maxConcurrentRuns 2: runs overlap, never more than two at once; fires beyond are skipped', () => {
    const { runs, maxActive } = outcome('allow');
    expectOneRunPerFire(runs);
    const ran = withState(runs, 'succeeded');
    const skipped = withState(runs, 'skipped');
    expect(ran.length + skipped.length).toBe(runs.length);
    expect(skipped.length).toBeGreaterThanOrEqual(1);
    for (const r of skipped) expect(r.skipReason).toContain('maxConcurrentRuns 2');
    expect(mostAtOnce(ran)).toBe(2);
    expect(maxActive).toBeLessThanOrEqual(2);
  });
});
