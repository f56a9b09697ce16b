import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '@drover/shared';
import { foldEvents } from './apply-events.js';
import { finishedEvent } from '../../../../test/support/events.js';

const started = (runId: string, token: number, at = 1): AgentEvent => ({ kind: 'started', runId, token, at });
const finished = (runId: string, token: number, outcome: 'succeeded' | 'failed' = 'succeeded', at = 2): AgentEvent =>
  finishedEvent(runId, token, { at, outcome, durationMs: 1.4 });
const log = (runId: string, token: number, seq: number): AgentEvent => ({
  kind: 'log',
  runId,
  token,
  seq,
  stream: 'stdout',
  data: 'x',
  at: 1,
});

describe('foldEvents', () => {
  it('folds a start and a finish of one attempt into one change with both transitions', () => {
    const [pass] = foldEvents([started('r1', 1), log('r1', 1, 0), finished('r1', 1)]);
    expect(pass).toHaveLength(1);
    expect(pass?.[0]).toMatchObject({
      id: 'r1',
      token: 1,
      from_state: 'offered',
      state: 'succeeded',
      started_at: 1,
      finished_at: 2,
      exit_code: 0,
      duration_ms: 1,
    });
    expect(pass?.[0]?.steps.map((s) => `${s.from_state}>${s.to_state}`)).toEqual(['offered>running', 'running>succeeded']);
  });

  it('expects a lone finish to find the run running', () => {
    const [pass] = foldEvents([finished('r1', 3, 'failed')]);
    expect(pass?.[0]).toMatchObject({ from_state: 'running', state: 'failed', exit_code: 1 });
  });

  it('ignores a second finish of the same attempt within a batch (one result per attempt)', () => {
    const [pass] = foldEvents([started('r1', 1), finished('r1', 1, 'succeeded'), finished('r1', 1, 'failed')]);
    expect(pass?.[0]?.state).toBe('succeeded');
    expect(pass?.[0]?.steps).toHaveLength(2);
  });

  it('puts a second attempt of the same run into its own pass', () => {
    const passes = foldEvents([started('r1', 1), finished('r1', 1, 'failed'), started('r1', 2)]);
    expect(passes).toHaveLength(2);
    expect(passes[1]?.[0]).toMatchObject({ token: 2, state: 'running' });
  });

  it('keeps runs apart and skips log chunks (they are stored separately)', () => {
    const [pass] = foldEvents([started('a', 1), log('b', 1, 0), started('b', 1), finished('a', 1)]);
    expect(pass?.map((c) => [c.id, c.state])).toEqual([
      ['a', 'succeeded'],
      ['b', 'running'],
    ]);
    expect(foldEvents([log('a', 1, 0)])).toEqual([]);
  });
});
