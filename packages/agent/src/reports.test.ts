// The outbox wired to the link: only a rejection signed with the pinned key (status `refused`)
// may make the agent drop an event; an unsigned one is retried like any failure.
import type { AgentEvent, ReportRequest } from '@drover/shared';
import { describe, expect, it } from 'vitest';
import { FakeLink, recordingLogger, refusal } from '../test/fake-link.js';
import { eventually } from '../test/fixtures.js';
import type { DropReason } from './outbox.js';
import { reportOutbox } from './reports.js';

const log = (seq: number): AgentEvent => ({ kind: 'log', runId: 'R', token: 1, seq, stream: 'stdout', data: `line ${seq}`, at: 0 });
const POISON = 2;

function poisonedLink(status: 'refused' | 'ignored') {
  const delivered: number[] = [];
  const link = new FakeLink({
    report: (req: ReportRequest) => {
      if (req.events.some((e) => e.kind === 'log' && e.seq === POISON)) {
        const err = refusal('REPORT_REJECTED', 422);
        return status === 'refused' ? { status, err } : { status, check: 'missing', from: 'coordinator-x', err };
      }
      delivered.push(...req.events.map((e) => (e.kind === 'log' ? e.seq : -1)));
      return { status: 'answered', answer: { stale: [] } };
    },
  });
  return { link, delivered };
}

describe('reportOutbox', () => {
  it('drops an event whose rejection is signed, logs it with its reason and counts it; the rest flows in order', async () => {
    const { link, delivered } = poisonedLink('refused');
    const { log: logger, lines } = recordingLogger();
    const counted: Array<[DropReason, number]> = [];
    const outbox = reportOutbox({ agentId: 'A', link, stopAttempt: () => undefined, dropped: (r, n) => counted.push([r, n]), log: logger });
    for (let i = 0; i < 6; i++) outbox.push(log(i));
    expect(await outbox.drain(5_000)).toBe(true);
    expect(delivered).toEqual([0, 1, 3, 4, 5]);
    expect(counted).toEqual([['rejected', 1]]);
    const said = lines.find((l) => l.msg.startsWith('a coordinator rejected this run event for good'));
    expect(said).toMatchObject({
      reason: 'rejected',
      detail: 'refused: REPORT_REJECTED',
      events: [{ runId: 'R', kind: 'log', seq: POISON }],
    });
    await outbox.close();
  });

  it('never drops an event over a rejection not signed with the pinned key: it is sent again', async () => {
    const { link, delivered } = poisonedLink('ignored');
    const { log: logger } = recordingLogger();
    const counted: Array<[DropReason, number]> = [];
    const outbox = reportOutbox({ agentId: 'A', link, stopAttempt: () => undefined, dropped: (r, n) => counted.push([r, n]), log: logger });
    for (let i = 0; i < 6; i++) outbox.push(log(i));
    await eventually(() => link.requests('report').length >= 3, 10_000, 'three report attempts');
    expect(counted).toEqual([]);
    expect(delivered).toEqual([]);
    expect(outbox.size).toBe(6);
    await outbox.close();
  });
});
