// What an agent restarted on its state dir does with the attempt records its previous process
// left: real process groups are killed when provably the attempt's, left alone otherwise, and
// every recorded attempt is returned to be reported lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AttemptRecords } from './attempt-records.js';
import { killLeftoverAttempts, LEFTOVER_LOST_ERROR, lostAttemptEvents } from './leftover-attempts.js';
import { makeOffer, processGone } from '../test/fixtures.js';

const started: ChildProcess[] = [];
let dir: string;
let records: AttemptRecords;

/** A process group as an attempt's: `sh -c script` leading it, with the attempt's variables. */
function attemptGroup(offer: { runId: string; attempt: number }, script = 'sleep 60'): ChildProcess {
  const child = spawn('/bin/sh', ['-c', script], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, DROVER_RUN_ID: offer.runId, DROVER_ATTEMPT: String(offer.attempt) },
  });
  started.push(child);
  return child;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'drover-leftovers-'));
  records = await AttemptRecords.open(dir);
});
afterEach(async () => {
  for (const c of started.splice(0)) {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe('leftover attempts', () => {
  it('kills a recorded group whose leader still runs, and returns the attempt to report lost', async () => {
    const offer = makeOffer({ attempt: 2, token: 7 });
    const group = attemptGroup(offer, 'sleep 60 & sleep 60 & wait');
    await new Promise((r) => setTimeout(r, 100));
    records.spawned(offer, group.pid as number);
    const leftovers = await killLeftoverAttempts(records);
    expect(leftovers).toHaveLength(1);
    expect(leftovers[0]).toMatchObject({ record: { runId: offer.runId, token: 7, attempt: 2, pgid: group.pid }, killed: 3 });
    expect(await processGone(group.pid as number)).toBe(true);
    // The record stays until the lost report is queued.
    expect(await readdir(records.dir)).toEqual([`${offer.runId}.7`]);
    await records.remove(leftovers[0]!.record);
    expect(await readdir(records.dir)).toEqual([]);
  });

  it('SIGKILLs a leftover that ignores SIGTERM once the grace is over', async () => {
    const offer = makeOffer();
    const group = attemptGroup(offer, "trap '' TERM; while :; do sleep 1; done");
    await new Promise((r) => setTimeout(r, 100));
    records.spawned(offer, group.pid as number);
    const t0 = Date.now();
    const [leftover] = await killLeftoverAttempts(records, { graceMs: 200 });
    console.log(`leftover ignoring SIGTERM gone after ${Date.now() - t0} ms (grace 200 ms)`);
    expect(leftover?.killed).toBeGreaterThan(0);
    expect(leftover?.problem).toBeUndefined();
    expect(await processGone(group.pid as number)).toBe(true);
  });

  it('leaves alone a group whose leader pid was reused since (another start time)', async () => {
    const offer = makeOffer();
    const stranger = attemptGroup(makeOffer());
    records.spawned(offer, stranger.pid as number);
    // Make the record name an older process with that pid.
    const file = join(records.dir, `${offer.runId}.${offer.token}`);
    const {
      records: [rec],
    } = await records.list();
    await writeFile(file, JSON.stringify({ ...rec, startTime: (rec?.startTime ?? 0) - 100 }));
    const leftovers = await killLeftoverAttempts(records);
    expect(leftovers).toMatchObject([{ record: { runId: offer.runId }, killed: 0 }]);
    expect(await processGone(stranger.pid as number)).toBe(false);
  });

  it('with the leader gone, kills the members only when they carry the attempt in their environment', async () => {
    const ours = makeOffer({ attempt: 1 });
    const theirs = makeOffer({ attempt: 1 });
    // Leaders that exit at once, leaving a member behind in their group.
    const oursGroup = attemptGroup(ours, 'sleep 60 & exit 0');
    const theirsGroup = attemptGroup(theirs, 'sleep 60 & exit 0');
    await new Promise((r) => setTimeout(r, 200));
    records.spawned(ours, oursGroup.pid as number);
    // A record for `theirs`' group, but naming another run: its members do not carry it.
    records.spawned(makeOffer({ attempt: 1 }), theirsGroup.pid as number);
    const leftovers = await killLeftoverAttempts(records);
    const killedOf = (pgid: number) => leftovers.find((l) => l.record.pgid === pgid)?.killed;
    expect(killedOf(oursGroup.pid as number)).toBe(1);
    expect(killedOf(theirsGroup.pid as number)).toBe(0);
  });

  it('kills nothing a record of another boot names', async () => {
    const offer = makeOffer();
    const group = attemptGroup(offer);
    await new Promise((r) => setTimeout(r, 50));
    const rec = records.spawned(offer, group.pid as number);
    await writeFile(join(records.dir, `${offer.runId}.${offer.token}`), JSON.stringify({ ...rec, bootId: 'another-boot' }));
    expect(await killLeftoverAttempts(records)).toMatchObject([{ killed: 0 }]);
    expect(await processGone(group.pid as number)).toBe(false);
  });

  it('removes a record cut short, with a warning, and returns nothing when there is nothing left', async () => {
    await writeFile(join(records.dir, 'R.1'), '{"runId":"R","tok');
    const warnings: string[] = [];
    expect(await killLeftoverAttempts(records, { onWarning: (m) => warnings.push(m) })).toEqual([]);
    expect(warnings).toEqual([`${records.dir}/R.1 holds no attempt record (a write cut short); removed`]);
    expect(await readdir(records.dir)).toEqual([]);
  });

  it('reports a leftover as started then lost, with what happened', () => {
    const offer = makeOffer({ token: 3 });
    const record = {
      runId: offer.runId,
      token: 3,
      attempt: 1,
      jobId: offer.jobId,
      pgid: 1234,
      startTime: 1,
      bootId: 'b',
      startedAt: 1_000,
    };
    expect(lostAttemptEvents(record, 5_000)).toEqual([
      { kind: 'started', runId: offer.runId, token: 3, at: 1_000 },
      expect.objectContaining({
        kind: 'finished',
        runId: offer.runId,
        jobId: offer.jobId,
        token: 3,
        at: 5_000,
        outcome: 'lost',
        error: LEFTOVER_LOST_ERROR,
        durationMs: 4_000,
      }),
    ]);
  });
});
