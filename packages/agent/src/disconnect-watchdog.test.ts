import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { HeldRun } from '@drover/shared';
import { attemptsToStop, DisconnectWatchdog, RECENT_SILENCE_MS, type WatchedAttempt } from './disconnect-watchdog.js';

const stop = (runId: string, afterMs: number): WatchedAttempt => ({ runId, token: 1, disconnect: { mode: 'stop', afterMs } });
const keep = (runId: string): WatchedAttempt => ({ runId, token: 1, disconnect: { mode: 'keep', afterMs: 8000 } });

describe('attemptsToStop', () => {
  it('stops stop attempts whose after has passed, never keep ones or ones without a rule', () => {
    const attempts = [stop('a', 8000), stop('b', 45_000), keep('c'), { runId: 'd', token: 1 }];
    expect(attemptsToStop(7999, attempts)).toEqual([]);
    expect(attemptsToStop(8000, attempts).map((a) => a.runId)).toEqual(['a']);
    expect(attemptsToStop(3_600_000, attempts).map((a) => a.runId)).toEqual(['a', 'b']);
  });

  it('stops exactly the stop attempts with after <= silence', () => {
    const attempt = fc.record({
      runId: fc.string(),
      token: fc.nat(),
      disconnect: fc.option(
        fc.record({ mode: fc.constantFrom('stop' as const, 'keep' as const), afterMs: fc.integer({ min: 5000, max: 1e7 }) }),
        {
          nil: undefined,
        },
      ),
    });
    fc.assert(
      fc.property(fc.nat({ max: 2e7 }), fc.array(attempt), (silence, attempts) => {
        const due = attemptsToStop(silence, attempts);
        for (const a of attempts) {
          const shouldStop = a.disconnect?.mode === 'stop' && a.disconnect.afterMs <= silence;
          expect(due.includes(a)).toBe(shouldStop);
        }
      }),
    );
  });
});

describe('DisconnectWatchdog', () => {
  it('stops each due attempt once, with why, and nothing before a coordinator was heard', () => {
    let now = 0;
    const stopped: Array<{ run: HeldRun; message: string }> = [];
    let attempts: WatchedAttempt[] = [stop('a', 8000), keep('b')];
    const w = new DisconnectWatchdog({
      now: () => now,
      attempts: () => attempts,
      stop: (run, message) => stopped.push({ run, message }),
    });
    now = 60_000;
    expect(w.check()).toEqual([]);
    w.heard();
    now = 67_999;
    expect(w.check()).toEqual([]);
    now = 68_000;
    expect(w.check().map((a) => a.runId)).toEqual(['a']);
    now = 70_000;
    expect(w.check()).toEqual([]);
    expect(stopped).toHaveLength(1);
    expect(stopped[0]?.run).toEqual({ runId: 'a', token: 1 });
    expect(stopped[0]?.message).toContain("heard no coordinator for 8.0 s, past the job's disconnect.after (8 s)");
    // Hearing a coordinator again resets the silence; a new attempt of the same run is watched afresh.
    attempts = [{ ...stop('a', 8000), token: 2 }];
    w.heard();
    now = 77_000;
    expect(w.check()).toEqual([]);
    now = 78_000;
    expect(w.check().map((a) => `${a.runId}:${a.token}`)).toEqual(['a:2']);
  });

  it('keeps a silence that just ended in view for offers read in the burst after it', () => {
    let now = 0;
    const w = new DisconnectWatchdog({ now: () => now, attempts: () => [], stop: () => undefined });
    expect(w.recentSilenceMs(5000)).toBeUndefined();
    w.heard();
    now = 25_000;
    expect(w.recentSilenceMs(5000)).toBe(25_000);
    // The first answer after a 25 s freeze ends the silence, but offers sent during it are still arriving.
    w.heard();
    now = 25_400;
    expect(w.silentForMs()).toBe(400);
    expect(w.recentSilenceMs(5000)).toBe(25_000);
    now = 30_000;
    expect(w.recentSilenceMs(5000)).toBe(5000);
    // Ordinary beats: their short gaps never reach a disconnect rule once the last long one is out of view.
    w.heard();
    now = 31_000;
    w.heard();
    now = 31_500;
    expect(w.recentSilenceMs(5000)).toBe(5000);
    for (now = 32_000; now <= 36_000; now += 1000) w.heard();
    now = 36_500;
    expect(w.recentSilenceMs(5000)).toBe(1000);
  });

  // After a 25 s freeze the heartbeat answer (+100 ms) and the registration answer (+490 ms)
  // come close together: the second must not replace the long silence with its short gap, or a
  // stale offer read at +600 ms would be judged by 390 ms and start a second execution.
  it('keeps the long silence in view when a second answer follows it within the window', () => {
    let now = 0;
    const w = new DisconnectWatchdog({ now: () => now, attempts: () => [], stop: () => undefined });
    w.heard();
    now = 25_100;
    w.heard();
    now = 25_490;
    w.heard();
    now = 25_600;
    expect(w.recentSilenceMs(RECENT_SILENCE_MS)).toBe(25_100);
    // Its window over, the next answer shows only its own gap.
    now = 30_200;
    w.heard();
    now = 30_300;
    expect(w.recentSilenceMs(RECENT_SILENCE_MS)).toBe(4710);
  });
});
