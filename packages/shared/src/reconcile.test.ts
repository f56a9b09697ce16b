import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { reconcileHeldRuns, unheldAttempts, type RunRecord } from './reconcile.js';

const held = (runId: string, token: number) => ({ runId, token });
const rec = (runId: string, token: number, agentId: string | null, state: string): RunRecord => ({ runId, token, agentId, state });

describe('reconcileHeldRuns', () => {
  it.each([
    ['keeps a running attempt assigned to it', rec('r', 3, 'a', 'running'), 'keep'],
    ['keeps and confirms an offered attempt assigned to it', rec('r', 3, 'a', 'offered'), 'confirm'],
    ['stops an attempt re-dispatched with a newer token', rec('r', 4, 'a', 'offered'), 'stop'],
    ['stops an attempt now assigned to another agent', rec('r', 3, 'b', 'running'), 'stop'],
    ['stops an attempt whose run went back to the queue', rec('r', 3, null, 'queued'), 'stop'],
    ['stops an attempt whose run already ended', rec('r', 3, 'a', 'succeeded'), 'stop'],
    ['stops an attempt of a run marked lost', rec('r', 3, 'a', 'lost'), 'stop'],
    ['stops an attempt the coordinator never heard of', undefined, 'stop'],
    [
      'stops a running attempt someone asked to cancel (again, until it has)',
      { ...rec('r', 3, 'a', 'running'), cancelRequested: true },
      'stop',
    ],
  ])('%s', (_what, record, expected) => {
    const d = reconcileHeldRuns('a', [held('r', 3)], record ? [record] : []);
    expect(d.stop.length > 0 ? 'stop' : d.confirm.length > 0 ? 'confirm' : 'keep').toBe(expected);
  });

  it('splits every held attempt into exactly one of keep, confirm or stop', () => {
    const state = fc.constantFrom('queued', 'offered', 'running', 'succeeded', 'failed', 'lost', 'cancelled');
    const agent = fc.constantFrom('a', 'b', null);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ runId: fc.string({ minLength: 1, maxLength: 4 }), token: fc.nat(5) }), { selector: (h) => h.runId }),
        fc.array(fc.record({ token: fc.nat(5), agentId: agent, state }), { maxLength: 10 }),
        (heldRuns, recs) => {
          const records = heldRuns.flatMap((h, i) => (recs[i] ? [{ runId: h.runId, ...recs[i] }] : []));
          const d = reconcileHeldRuns('a', heldRuns, records);
          const stopped = new Set(d.stop.map((s) => s.runId));
          for (const c of d.confirm) expect(stopped.has(c)).toBe(false);
          for (const h of heldRuns) {
            const r = records.find((x) => x.runId === h.runId);
            const live = r && r.agentId === 'a' && r.token === h.token && (r.state === 'offered' || r.state === 'running');
            expect(stopped.has(h.runId)).toBe(!live);
          }
        },
      ),
    );
  });
});

describe('unheldAttempts', () => {
  const running = [
    { runId: 'kept', token: 2, startedAt: 1000 },
    { runId: 'forgotten', token: 1, startedAt: 1000 },
    { runId: 'old-token', token: 3, startedAt: 1000 },
    { runId: 'just-started', token: 1, startedAt: 5000 },
  ];
  it('names the attempts the agent runs in the records but does not hold, except those newer than its list', () => {
    expect(unheldAttempts([held('kept', 2), held('old-token', 2)], running, 4000)).toEqual([held('forgotten', 1), held('old-token', 3)]);
  });
  it('names none when the agent holds everything', () => {
    expect(
      unheldAttempts(
        running.map((r) => held(r.runId, r.token)),
        running,
        9000,
      ),
    ).toEqual([]);
  });
});
