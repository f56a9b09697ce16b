import { describe, expect, it } from 'vitest';
import type { DroverClient, Run } from '@drover/client';
import { reportWaiting, waitingLine } from './waiting.js';

const run = (fields: Partial<Run>): Run =>
  ({ id: 'r1', state: 'queued', queueReason: null, notBefore: null, error: null, ...fields }) as Run;

describe('waitingLine', () => {
  it('says why a run waits, and nothing for a run on its way, started or ended', () => {
    expect(waitingLine(run({ queueReason: 'no agent matches label.region = eu' }))).toBe(
      'run r1 is queued: no agent matches label.region = eu',
    );
    expect(waitingLine(run({ state: 'pending', notBefore: '2026-12-01T09:00:00Z' }))).toBe(
      'run r1 is pending (until 2026-12-01T09:00:00Z)',
    );
    expect(waitingLine(run({ state: 'retrying', notBefore: '2026-12-01T09:00:00Z', error: 'exited with code 3' }))).toBe(
      'run r1 is waiting to retry (until 2026-12-01T09:00:00Z): exited with code 3',
    );
    for (const state of ['queued', 'offered', 'running', 'succeeded', 'cancelled'] as const)
      expect(waitingLine(run({ state }))).toBeUndefined();
  });
});

describe('reportWaiting', () => {
  it('writes the reason once, then each change of it, and stops when the run starts', async () => {
    const seen = [
      run({}),
      run({ queueReason: 'no agent matches label.region = eu' }),
      run({ queueReason: 'no agent matches label.region = eu' }),
      run({ queueReason: 'every matching agent is full (1 of 1 slots used)' }),
      run({ state: 'running' }),
      run({ state: 'running', queueReason: 'never read' }),
    ];
    let reads = 0;
    const client = {
      GET: async () => ({ data: seen[Math.min(reads++, seen.length - 1)], response: new Response() }),
    } as unknown as DroverClient;
    const lines: string[] = [];
    await reportWaiting({ client }, 'r1', new AbortController().signal, (l) => lines.push(l), 0);
    expect(lines).toEqual([
      'run r1 is queued: no agent matches label.region = eu',
      'run r1 is queued: every matching agent is full (1 of 1 slots used)',
    ]);
    expect(reads).toBe(5);
  });
});
