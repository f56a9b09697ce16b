// The shared wake/pass/sleep loop: kicks coalesce, failures are retried, sleeps end when the
// next pass is due, and stop ends it. Fake timers: nothing here waits for real time.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { failureLogOf } from '@drover/shared';
import { PassLoop } from './pass-loop.js';

const failures = failureLogOf(pino({ level: 'silent' }));

// Timeouts are fake; immediates stay real, so a kick's pass starts as soon as the test yields.
beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
/** Moves the fake clock on, then lets what it started (an immediate, its promises) run. */
async function after(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
afterEach(() => vi.useRealTimers());

/** A pass that waits until released, counting how often it started. */
function gatedPass(next: () => number | undefined = () => undefined) {
  const state = { started: 0, release: () => undefined as void };
  const pass = () => {
    state.started++;
    return new Promise<number | undefined>((resolve) => {
      state.release = () => resolve(next());
    });
  };
  return { state, pass };
}

describe('PassLoop', () => {
  it('runs one pass per kick, and coalesces kicks during a pass into exactly one more', async () => {
    const { state, pass } = gatedPass();
    const loop = new PassLoop({ name: 'test pass', failures, pass, retryMs: 100 });
    loop.kick();
    await after(0);
    expect(state.started).toBe(1);
    loop.kick();
    loop.kick();
    loop.kick();
    expect(loop.kickedDuringPass).toBe(true);
    state.release();
    await after(0);
    expect(state.started).toBe(2);
    state.release();
    await after(10_000);
    expect(state.started).toBe(2); // no more kicks, no due time: it sleeps until kicked
    await loop.stop();
  });

  it('retries a pass that failed after the retry delay', async () => {
    let calls = 0;
    const loop = new PassLoop({
      name: 'test pass',
      failures,
      retryMs: 500,
      pass: async () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return undefined;
      },
    });
    loop.kick();
    await after(0);
    expect(calls).toBe(1);
    await after(499);
    expect(calls).toBe(1);
    await after(1);
    expect(calls).toBe(2);
    await after(10_000);
    expect(calls).toBe(2);
    await loop.stop();
  });

  it('sleeps until the next due time a pass returns, and a kick cuts the sleep short', async () => {
    let calls = 0;
    const loop = new PassLoop({ name: 'test pass', failures, retryMs: 100, pass: async () => (calls++, 1000) });
    loop.kick();
    await after(0);
    expect(calls).toBe(1);
    await after(999);
    expect(calls).toBe(1);
    await after(1);
    expect(calls).toBe(2);
    loop.kick(); // mid-sleep: a pass now, and the sleep starts over after it
    await after(0);
    expect(calls).toBe(3);
    await after(999);
    expect(calls).toBe(3);
    await after(1);
    expect(calls).toBe(4);
    await loop.stop();
  });

  it('stop waits for the pass in flight, then no kick or timer starts another', async () => {
    const { state, pass } = gatedPass(() => 10);
    const loop = new PassLoop({ name: 'test pass', failures, pass, retryMs: 100 });
    loop.kick();
    await after(0);
    loop.kick(); // would be one more pass, but stop comes first
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await after(0);
    expect(stopped).toBe(false);
    state.release();
    await stopping;
    loop.kick();
    await after(10_000);
    expect(state.started).toBe(1);
    expect(loop.isStopped).toBe(true);
  });
});
