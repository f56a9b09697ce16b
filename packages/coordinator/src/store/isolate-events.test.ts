import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '@drover/shared';
import type { AppliedBatch } from './apply-events.js';
import { applyIsolating, isDataError } from './isolate-events.js';

/** A PostgreSQL-like error with a SQLSTATE. */
function pgError(code: string, message = 'value out of range'): Error {
  return Object.assign(new Error(message), { code });
}

function applied(): AppliedBatch {
  return { changed: new Map(), endedJobs: new Set(), requeued: [], retrying: 0, actions: 0, stale: [] };
}

const event = (i: number, kind: AgentEvent['kind']): AgentEvent =>
  kind === 'log'
    ? { kind, runId: `r${i}`, token: 1, seq: i, stream: 'stdout', data: `${i}`, at: 1 }
    : kind === 'started'
      ? { kind, runId: `r${i}`, token: 1, at: 1 }
      : {
          kind,
          runId: `r${i}`,
          token: 1,
          at: 1,
          outcome: 'succeeded',
          exitCode: 0,
          signal: null,
          error: null,
          durationMs: i,
          cpuTimeMs: null,
          peakMemoryBytes: null,
          httpStatus: null,
          outputBytes: 0,
          droppedBytes: 0,
          lastLines: [],
        };

describe('applyIsolating', () => {
  it('applies every good event in order and sets each bad one apart, whatever the batch (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom<AgentEvent['kind']>('started', 'log', 'finished'), fc.boolean()), { maxLength: 40 }),
        async (spec) => {
          const events = spec.map(([kind], i) => event(i, kind));
          const bad = new Set(spec.flatMap(([, isBad], i) => (isBad ? [events[i]] : [])));
          const seen: AgentEvent[] = [];
          let calls = 0;
          const result = await applyIsolating(
            async (part) => {
              calls++;
              if (part.some((e) => bad.has(e))) throw pgError('22003');
              seen.push(...part);
              return applied();
            },
            events,
            () => 99,
          );
          // Good events once each, in order; a bad start again at the coordinator's clock, a bad result as a failure.
          const expected = events.flatMap((e) => {
            if (!bad.has(e)) return [e];
            if (e.kind === 'started') return [{ ...e, at: 99 }];
            if (e.kind === 'finished') return [expect.objectContaining({ runId: e.runId, outcome: 'failed', at: 99 })];
            return [];
          });
          expect(seen).toEqual(expected);
          expect(result.events).toEqual(expected);
          expect(result.rejected.map((r) => r.runId)).toEqual(events.filter((e) => bad.has(e)).map((e) => e.runId));
          for (const r of result.rejected) expect(r.reason).toBe('value out of range (SQLSTATE 22003)');
          // A batch without poison costs one call; each poison event a few more (bisection).
          if (bad.size === 0) expect(calls).toBe(events.length === 0 ? 0 : 1);
          else expect(calls).toBeLessThanOrEqual(1 + bad.size * (2 * Math.ceil(Math.log2(events.length + 1)) + 2));
        },
      ),
    );
  });

  it('throws what is not caused by the events (the agent retries), and applies nothing more', async () => {
    for (const err of [
      pgError('08006', 'connection failure'),
      pgError('40001', 'could not serialize'),
      new Error('Connection terminated'),
    ]) {
      let calls = 0;
      const apply = async (): Promise<AppliedBatch> => {
        calls++;
        throw err;
      };
      await expect(applyIsolating(apply, [event(1, 'started'), event(2, 'log')], Date.now)).rejects.toBe(err);
      expect(calls).toBe(1);
    }
    expect([isDataError(pgError('22P05')), isDataError(pgError('23502')), isDataError(new TypeError('x'))]).toEqual([true, true, true]);
    expect([isDataError(pgError('57P01')), isDataError(pgError('53300')), isDataError('x')]).toEqual([false, false, false]);
  });

  it('rejects malformed events without trying them', async () => {
    const seen: AgentEvent[] = [];
    const good = event(1, 'started');
    const result = await applyIsolating(
      async (part) => {
        seen.push(...part);
        return applied();
      },
      [
        null,
        7,
        { kind: 'nope', runId: 'x', token: 1 },
        { kind: 'log', runId: '', token: 1 },
        { kind: 'log', runId: 'y', token: 1.5 },
        good,
      ],
      Date.now,
    );
    expect(seen).toEqual([good]);
    expect(result.rejected.map((r) => r.reason)).toEqual([
      'malformed event: an event must be an object',
      'malformed event: an event must be an object',
      'malformed event: its kind must be started, log or finished',
      'malformed event: its runId must be a run id',
      'malformed event: its token must be an integer',
    ]);
  });
});
