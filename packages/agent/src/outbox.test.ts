import type { AgentEvent, ReportResponse } from '@drover/shared';
import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox.js';
import { eventually } from '../test/fixtures.js';

function log(runId: string, seq: number, data = `line ${seq}`): AgentEvent {
  return { kind: 'log', runId, token: 1, seq, stream: 'stdout', data, at: 0 };
}

/** A coordinator whose answers the test controls one call at a time. */
function controlledCoordinator() {
  const calls: AgentEvent[][] = [];
  const pending: Array<{ resolve: (r: ReportResponse) => void; reject: (e: Error) => void }> = [];
  const send = (events: AgentEvent[]) =>
    new Promise<ReportResponse>((resolve, reject) => {
      calls.push(events);
      pending.push({ resolve, reject });
    });
  return { calls, pending, send };
}

describe('Outbox', () => {
  it('sends at once when idle, and batches whatever piles up behind the call in flight', async () => {
    const coord = controlledCoordinator();
    const outbox = new Outbox({ send: coord.send });
    outbox.push(log('A', 0));
    await eventually(() => coord.calls.length === 1);
    for (let i = 1; i <= 300; i++) outbox.push(log('A', i));
    // One call at a time: nothing else leaves until the first is answered.
    expect(coord.calls).toHaveLength(1);
    coord.pending.shift()?.resolve({ stale: [] });
    await eventually(() => coord.calls.length === 2);
    expect(coord.calls[1]?.map((e) => (e.kind === 'log' ? e.seq : -1))).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    coord.pending.shift()?.resolve({ stale: [] });
    expect(await outbox.drain(5_000)).toBe(true);
  });

  it('caps a call by event count and by size', async () => {
    const sent: number[] = [];
    const byCount = new Outbox({ send: async (events) => (sent.push(events.length), { stale: [] }), maxEvents: 100 });
    for (let i = 0; i < 250; i++) byCount.push(log('A', i));
    expect(await byCount.drain(5_000)).toBe(true);
    expect(sent).toEqual([100, 100, 50]);
    sent.length = 0;
    const bySize = new Outbox({ send: async (events) => (sent.push(events.length), { stale: [] }), maxBytes: 10_000 });
    for (let i = 0; i < 10; i++) bySize.push(log('B', i, 'x'.repeat(3_000)));
    expect(await bySize.drain(5_000)).toBe(true);
    expect(sent).toEqual([3, 3, 3, 1]);
  });

  it('keeps events until a call succeeds and resends them in order after failures', async () => {
    const received: AgentEvent[][] = [];
    let failuresLeft = 2;
    const errors: unknown[] = [];
    const outbox = new Outbox({
      send: async (events) => {
        received.push(events);
        if (failuresLeft-- > 0) throw new Error('coordinator restarting');
        return { stale: [] };
      },
      onError: (err) => errors.push(err),
      backoff: { initialMs: 1, maxMs: 5 },
    });
    for (let i = 0; i < 5; i++) outbox.push(log('A', i));
    expect(await outbox.drain(10_000)).toBe(true);
    expect(errors).toHaveLength(2);
    expect(outbox.size).toBe(0);
    // Every call, failed or not, carried the same events in the same order.
    const seqs = received.map((batch) => batch.map((e) => (e.kind === 'log' ? e.seq : -1)));
    expect(seqs).toEqual([
      [0, 1, 2, 3, 4],
      [0, 1, 2, 3, 4],
      [0, 1, 2, 3, 4],
    ]);
  });

  it('drops queued events of attempts the coordinator reports stale, and later ones too', async () => {
    const coord = controlledCoordinator();
    const staleSeen: string[] = [];
    const outbox = new Outbox({ send: coord.send, onStale: (runs) => staleSeen.push(...runs.map((r) => r.runId)) });
    outbox.push(log('A', 0));
    await eventually(() => coord.calls.length === 1);
    outbox.push(log('A', 1));
    outbox.push(log('B', 0));
    coord.pending.shift()?.resolve({ stale: [{ runId: 'A', token: 1 }] });
    await eventually(() => coord.calls.length === 2);
    expect(staleSeen).toEqual(['A']);
    expect(coord.calls[1]?.map((e) => e.runId)).toEqual(['B']);
    outbox.push(log('A', 2));
    coord.pending.shift()?.resolve({ stale: [] });
    expect(await outbox.drain(5_000)).toBe(true);
    expect(coord.calls).toHaveLength(2);
  });
});

describe('Outbox backpressure', () => {
  it('asks producers to wait above the high-water mark and lets them go once reports drain it', async () => {
    const coord = controlledCoordinator();
    const outbox = new Outbox({ send: coord.send, highWaterBytes: 10_000 });
    expect(outbox.roomForOutput()).toBeUndefined();
    for (let i = 0; i < 20; i++) outbox.push(log('A', i, 'x'.repeat(1_000)));
    const room = outbox.roomForOutput();
    expect(room).toBeInstanceOf(Promise);
    let relieved = false;
    void room?.then(() => (relieved = true));
    await eventually(() => coord.calls.length === 1);
    coord.pending.shift()?.resolve({ stale: [] });
    await eventually(() => relieved, 5_000, 'room for output');
    expect(outbox.roomForOutput()).toBeUndefined();
  });
});
