// The record of an attempt outlives its processes until its result is durable, so an agent that
// crashed in between neither reports a finished attempt lost nor forgets an unfinished one.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '@drover/shared';
import { AttemptRecords } from './attempt-records.js';
import { startAttemptGuard, type AttemptGuard } from './attempt-guard.js';
import { makeOffer } from '../test/fixtures.js';

const quiet = { warn: () => undefined, error: () => undefined };
let dir: string;
const guards: AttemptGuard[] = [];

/** A finished attempt's group: its leader exited already, as after a normal end. */
async function endedGroup(): Promise<number> {
  const child = spawn('/bin/sh', ['-c', 'exit 0'], { detached: true, stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return child.pid as number;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'drover-guard-'));
});
afterEach(async () => {
  for (const g of guards.splice(0)) await g.close();
  await rm(dir, { recursive: true, force: true });
});

describe('attempt guard', () => {
  it('keeps the record after the group ends, until the attempt is settled', async () => {
    const guard = await startAttemptGuard(dir, quiet);
    guards.push(guard);
    const offer = makeOffer({ token: 3 });
    const watch = guard.watchGroups(offer);
    const pgid = await endedGroup();
    watch.spawned(pgid);
    watch.ended(pgid);
    expect(await readdir(join(dir, 'attempts'))).toEqual([`${offer.runId}.3`]);
    guard.settled(offer.runId, 3);
    expect(await readdir(join(dir, 'attempts'))).toEqual([]);
  });

  it('after a crash, reports lost only the leftovers whose result the outbox does not hold', async () => {
    const done = makeOffer({ token: 1 });
    const unfinished = makeOffer({ token: 2 });
    const records = await AttemptRecords.open(dir);
    records.spawned(done, await endedGroup());
    records.spawned(unfinished, await endedGroup());
    const guard = await startAttemptGuard(dir, quiet);
    guards.push(guard);
    const pushed: AgentEvent[] = [];
    await guard.reportLeftovers(
      (e) => pushed.push(e),
      (runId, token) => runId === done.runId && token === 1,
    );
    expect(pushed.map((e) => [e.runId, e.kind])).toEqual([
      [unfinished.runId, 'started'],
      [unfinished.runId, 'finished'],
    ]);
    expect(await readdir(join(dir, 'attempts'))).toEqual([]);
  });
});
