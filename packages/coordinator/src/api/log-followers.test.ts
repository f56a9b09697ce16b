import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LogFollowers, TooManyFollowers, type FollowStep } from './log-followers.js';

const LIMITS = { total: 10, perRun: 10, perToken: 10, pollMs: 60_000 };

/** A socket stand-in: a real Writable whose writes complete only when `flush` is called. */
function slowSocket(highWaterMark: number) {
  const pending: Array<() => void> = [];
  const socket = new Writable({
    highWaterMark,
    write(_chunk, _enc, done) {
      pending.push(done);
    },
  });
  return {
    res: socket as unknown as ServerResponse,
    socket,
    flush: () => {
      while (pending.length > 0) pending.shift()!();
    },
  };
}

/** Every run at the same position: the sweep wakes each run once. */
const still = async (ids: string[]) => new Map(ids.map((id) => [id, 'running 1:1']));

const tick = () => new Promise((r) => setImmediate(r));

describe('LogFollowers', () => {
  it('refuses one follower too many per token, per run and in all, naming the setting', () => {
    const followers = new LogFollowers({ ...LIMITS, total: 5, perRun: 2, perToken: 3 }, () => undefined, still);
    const add = (run: string, holder: string) =>
      followers.add(
        run,
        holder,
        slowSocket(1024).res,
        async () => 'idle',
        () => undefined,
        () => 'running 1:1',
        () => undefined,
      );
    add('r1', 'token a');
    add('r2', 'token a');
    add('r3', 'token a');
    expect(() => followers.check('r4', 'token a')).toThrow(/--log-followers-per-token/);
    add('r1', 'token b');
    expect(() => followers.check('r1', 'token c')).toThrow(/--log-followers-per-run/);
    add('r4', 'token b');
    expect(() => followers.check('r5', 'token c')).toThrow(TooManyFollowers);
    expect(() => followers.check('r5', 'token c')).toThrow(/--log-followers\)/);
    expect(followers.counts()).toEqual({ open: 5, waiting: 0 });
  });

  it('folds wake-ups during a read into one more read, and frees the places of ended followers', async () => {
    const followers = new LogFollowers(LIMITS, () => undefined, still);
    let reads = 0;
    let release: () => void = () => undefined;
    const step = async (): Promise<FollowStep> => {
      reads++;
      await new Promise<void>((r) => (release = r));
      return 'idle';
    };
    const follower = followers.add(
      'r1',
      'token a',
      slowSocket(1024).res,
      step,
      () => undefined,
      () => 'running 1:1',
      () => undefined,
    );
    await tick();
    expect(reads).toBe(1);
    for (let i = 0; i < 20; i++) followers.wakeRun('r1');
    followers.wakeRun('r2');
    release();
    await tick();
    expect(reads).toBe(2);
    release();
    await tick();
    expect(reads).toBe(2);
    follower.end();
    expect(followers.counts()).toEqual({ open: 0, waiting: 0 });
  });

  it('reads nothing for a follower whose socket is full until it drains', async () => {
    const followers = new LogFollowers(LIMITS, () => undefined, still);
    const { res, socket, flush } = slowSocket(16);
    let reads = 0;
    followers.add(
      'r1',
      'token a',
      res,
      async () => {
        reads++;
        socket.write('x'.repeat(64));
        return 'idle';
      },
      () => undefined,
      () => 'running 1:1',
      () => undefined,
    );
    await tick();
    expect(reads).toBe(1);
    expect(followers.counts().waiting).toBe(1);
    for (let i = 0; i < 5; i++) followers.wakeRun('r1');
    await tick();
    expect(reads).toBe(1);
    flush();
    await tick();
    expect(reads).toBe(2);
  });

  it('sweeps every followed run in one query and wakes only the followers behind', async () => {
    let at = new Map([
      ['r1', 'running 1:1'],
      ['r2', 'running 1:1'],
    ]);
    let queries = 0;
    const followers = new LogFollowers(
      LIMITS,
      () => undefined,
      async () => {
        queries++;
        return at;
      },
    );
    const reads = new Map<string, number>();
    for (const run of ['r1', 'r1', 'r2'])
      followers.add(
        run,
        'token a',
        slowSocket(1024).res,
        async () => {
          reads.set(run, (reads.get(run) ?? 0) + 1);
          return 'idle';
        },
        () => undefined,
        () => 'running 1:1',
        () => undefined,
      );
    await tick();
    expect(Object.fromEntries(reads)).toEqual({ r1: 2, r2: 1 });
    await followers.sweep(); // every follower is where its run is: no read
    await tick();
    expect(Object.fromEntries(reads)).toEqual({ r1: 2, r2: 1 });
    at = new Map([
      ['r1', 'running 1:1'],
      ['r2', 'succeeded 1:2'],
    ]);
    await followers.sweep();
    await tick();
    expect(Object.fromEntries(reads)).toEqual({ r1: 2, r2: 2 });
    expect(queries).toBe(2);
    followers.stop();
  });
});
