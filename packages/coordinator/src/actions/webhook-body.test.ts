import { describe, expect, it } from 'vitest';
import type { Run } from '../store/run-model.js';
import { jsonBody, slackMessage, type WebhookEvent } from './webhook-body.js';

// Cast: the run grows fields over time, and only these matter to the bodies.
const run = (over: Partial<Run> = {}): Run =>
  ({
    id: '01JRUN',
    jobId: '01JJOB',
    state: 'failed',
    priority: 50,
    trigger: 'manual',
    parameters: { day: 'monday' },
    attempt: 2,
    attemptToken: 2,
    agentId: 'agent-1',
    queueReason: null,
    skipReason: null,
    fireAt: null,
    notBefore: null,
    exitCode: 3,
    signal: null,
    error: null,
    durationMs: 1200,
    cpuTimeMs: 40,
    peakMemoryBytes: 1024,
    createdAt: '2026-11-22T10:00:00.000Z',
    queuedAt: '2026-11-22T10:00:00.000Z',
    offeredAt: '2026-11-22T10:00:00.010Z',
    startedAt: '2026-11-22T10:00:00.020Z',
    finishedAt: '2026-11-22T10:00:01.220Z',
    ...over,
  }) as Run;

const event = (over: Partial<WebhookEvent> = {}): WebhookEvent => ({
  event: 'on_failure',
  run: run(),
  job: { id: '01JJOB', name: 'nightly-report' },
  attempt: 2,
  attemptRecord: null,
  at: '2026-11-22T10:00:01.300Z',
  ...over,
});

describe('jsonBody', () => {
  it('is the event, the run as the API shows it, the job, the attempt, its record and the time', () => {
    const e = event();
    expect(jsonBody(e)).toEqual({
      event: 'on_failure',
      run: e.run,
      job: { id: '01JJOB', name: 'nightly-report' },
      attempt: 2,
      attemptRecord: null,
      at: e.at,
    });
  });
});

describe('slackMessage', () => {
  it('summarises the job, run, event, state and exit code in text and blocks', () => {
    const m = slackMessage(event());
    expect(m.text).toBe(':x: Job nightly-report failed (run 01JRUN, failed: exit code 3)');
    expect(m.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: ':x: Job *nightly-report* failed' } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*Run*\n`01JRUN`' },
          { type: 'mrkdwn', text: '*State*\nfailed' },
          { type: 'mrkdwn', text: '*Attempt*\n2' },
          { type: 'mrkdwn', text: '*Exit code*\n3' },
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: '*Error*\n```exit code 3```' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'Drover · on_failure · 2026-11-22T10:00:01.300Z' }] },
    ]);
  });

  it('says a success plainly, without an error block', () => {
    const m = slackMessage(event({ event: 'on_success', run: run({ state: 'succeeded', exitCode: 0 }) }));
    expect(m.text).toBe(':white_check_mark: Job nightly-report succeeded (run 01JRUN, succeeded)');
    expect(JSON.stringify(m.blocks)).not.toContain('*Error*');
  });

  it("prefers the run's error to its exit code, escapes Slack markup and keeps a long error's head", () => {
    const m = slackMessage(
      event({ event: 'on_timeout', run: run({ state: 'timed_out', exitCode: null, error: `<b>&${'disk full; '.repeat(200)}` }) }),
    );
    const errorBlock = m.blocks[2] as { text: { text: string } };
    expect(errorBlock.text.text.startsWith('*Error*\n```&lt;b&gt;&amp;disk full; disk full;')).toBe(true);
    expect(errorBlock.text.text.length).toBeLessThan(3000);
    expect(m.text).toContain('timed out');
    expect((m.blocks[1] as { fields: Array<{ text: string }> }).fields[3]?.text).toBe('*Exit code*\n–');
  });

  it('names a run killed by a signal', () => {
    const m = slackMessage(event({ event: 'on_lost', run: run({ state: 'lost', exitCode: null, signal: 'SIGKILL' }) }));
    expect(m.text).toBe(':ghost: Job nightly-report was lost with its agent (run 01JRUN, lost: killed by SIGKILL)');
  });
});
