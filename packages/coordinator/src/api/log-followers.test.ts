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

const tick = () => new Promise((r) => setImmediate(r));

describe('LogFollowers', () => {
  it('refuses one follower too many per token, per run and in all, naming the setting', () => {
    const followers = new LogFollowers({ ...LIMITS, total: 5, perRun: 2, perToken: 3 }, () => undefined);
    const add = (run: string, holder: string) =>
      followers.add(
        run,
        holder,
        slowSocket(1024).res,
        async () => 'idle',
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
    const followers = new LogFollowers(LIMITS, () => undefined);
    let reads = 0;
    let release: () => void = () => undefined;
    const step = async (): Promise<FollowStep> => {
      reads++;
      await new Promise<void>((r) => (release = r));
      return 'idle';
    };
    const follower = followers.add('r1', 'token a', slowSocket(1024).res, step, () => undefined);
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
    const followers = new LogFollowers(LIMITS, () => undefined);
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
});
