// A report the coordinator rejects for good must never wedge the outbox, whatever the poison
// is and wherever it sits: the sender here rejects any batch that holds a poison event, the
// way a coordinator that cannot apply one event rejects the whole report.
import fc from 'fast-check';
import { Errors } from 'moleculer';
import type { AgentEvent } from '@drover/shared';
import { describe, expect, it } from 'vitest';
import { Outbox, isPermanentRejection, type DropReason } from './outbox.js';

function event(i: number): AgentEvent {
  const runId = `R${Math.floor(i / 4)}`;
  switch (i % 4) {
    case 0:
      return { kind: 'started', runId, token: 1, at: i };
    case 3:
      return {
        kind: 'finished',
        runId,
        token: 1,
        at: i,
        outcome: 'succeeded',
        exitCode: 0,
        signal: null,
        error: null,
        durationMs: 1,
        cpuTimeMs: null,
        peakMemoryBytes: null,
        httpStatus: null,
        outputBytes: 2,
        droppedBytes: 0,
        lastLines: [],
      };
    default:
      return { kind: 'log', runId, token: 1, seq: (i % 4) - 1, stream: 'stdout', data: `line ${i}`, at: i };
  }
}

const name = (e: AgentEvent) => `${e.runId}:${e.kind}${e.kind === 'log' ? `:${e.seq}` : ''}`;

/** The rejections that no resend cures, as they reach the agent. */
const permanentErrors: Array<() => unknown> = [
  () => new Errors.MoleculerClientError('the report holds an event the coordinator cannot apply', 422, 'REPORT_REJECTED'),
  () => new Errors.ValidationError('parameters validation error', 'VALIDATION_ERROR'),
  () => Object.assign(new Error('Maximum payload exceeded'), { code: 'MAX_PAYLOAD_EXCEEDED' }),
  () => new Errors.MoleculerClientError('payload too large', 413, 'PAYLOAD_TOO_LARGE'),
];

/** Failures that must be retried, never taken for poison. */
const retryableErrors: Array<() => unknown> = [
  () => new Errors.ServiceNotFoundError({ action: 'drover.fleet.report' }),
  () => new Errors.RequestTimeoutError({ action: 'drover.fleet.report', nodeID: 'c1' }),
  () => new Errors.MoleculerRetryableError('database unavailable', 503, 'STORE_UNAVAILABLE'),
  () => new Errors.MoleculerClientError('this agent is not joined', 403, 'AGENT_NOT_JOINED'),
  () => new Error("the answer to a report is not signed with the cluster's key (bad-signature)"),
];

describe('Outbox and poison', () => {
  it('tells rejections for good from failures worth retrying', () => {
    for (const make of permanentErrors) expect(isPermanentRejection(make())).toBe(true);
    for (const make of retryableErrors) expect(isPermanentRejection(make())).toBe(false);
  });

  it('delivers every other event in order, exactly once, whatever and wherever the poison is', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 150 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            poison: fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: Math.min(4, n) }),
            // Where the pushes pause for the outbox to send: later events are queued behind a poison in flight.
            pauses: fc.uniqueArray(fc.integer({ min: 1, max: n }), { maxLength: 6 }),
            maxEvents: fc.integer({ min: 1, max: 64 }),
            errorKind: fc.integer({ min: 0, max: permanentErrors.length - 1 }),
            flakiness: fc.double({ min: 0, max: 0.3, noNaN: true }),
            seed: fc.integer(),
          }),
        ),
        async ({ n, poison, pauses, maxEvents, errorKind, flakiness, seed }) => {
          const events = Array.from({ length: n }, (_, i) => event(i));
          const poisoned = new Set(poison.map((i) => events[i] as AgentEvent));
          const delivered: AgentEvent[] = [];
          const dropped: Array<{ event: AgentEvent; reason: DropReason }> = [];
          let rng = seed >>> 0;
          const random = () => ((rng = (rng * 1103515245 + 12345) >>> 0) / 2 ** 32) % 1;
          const outbox = new Outbox({
            maxEvents,
            backoff: { initialMs: 1, maxMs: 20 },
            send: async (batch) => {
              await new Promise((r) => setImmediate(r));
              if (random() < flakiness) throw (retryableErrors[Math.floor(random() * retryableErrors.length)] as () => unknown)();
              if (batch.some((e) => poisoned.has(e))) throw (permanentErrors[errorKind] as () => unknown)();
              delivered.push(...batch);
              return { stale: [] };
            },
            onDropped: (evs, reason) => dropped.push(...evs.map((e) => ({ event: e, reason }))),
          });
          try {
            for (let i = 0; i < n; i++) {
              if (pauses.includes(i)) await new Promise((r) => setTimeout(r, 1));
              outbox.push(events[i] as AgentEvent);
            }
            expect(await outbox.drain(3_000)).toBe(true);
            expect(delivered.map(name)).toEqual(events.filter((e) => !poisoned.has(e)).map(name));
            expect(dropped.map((d) => d.event)).toEqual(events.filter((e) => poisoned.has(e)));
            expect(dropped.every((d) => d.reason === 'rejected')).toBe(true);
          } finally {
            // A wedged outbox would otherwise go on retrying through the rest of the run.
            await outbox.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never drops an event over failures worth retrying', async () => {
    let failures = retryableErrors.length;
    const delivered: AgentEvent[] = [];
    const dropped: AgentEvent[] = [];
    const outbox = new Outbox({
      backoff: { initialMs: 1, maxMs: 2 },
      send: async (batch) => {
        if (failures > 0) throw (retryableErrors[--failures] as () => unknown)();
        delivered.push(...batch);
        return { stale: [] };
      },
      onDropped: (evs) => dropped.push(...evs),
    });
    for (let i = 0; i < 8; i++) outbox.push(event(i));
    expect(await outbox.drain(5_000)).toBe(true);
    expect(dropped).toEqual([]);
    expect(delivered.map(name)).toEqual(Array.from({ length: 8 }, (_, i) => name(event(i))));
  });

  it('acknowledges events the coordinator isolated itself and names them', async () => {
    const rejected: string[] = [];
    const calls: number[] = [];
    const outbox = new Outbox({
      send: async (batch) => {
        calls.push(batch.length);
        return { stale: [], rejected: [{ runId: 'R0', token: 1, kind: 'log', seq: 0, reason: 'NUL byte in output' }] };
      },
      onRejected: (r) => rejected.push(...r.map((x) => `${x.runId}:${x.kind}:${x.seq}:${x.reason}`)),
    });
    for (let i = 0; i < 4; i++) outbox.push(event(i));
    expect(await outbox.drain(5_000)).toBe(true);
    expect(calls).toEqual([4]);
    expect(rejected).toEqual(['R0:log:0:NUL byte in output']);
  });
});
