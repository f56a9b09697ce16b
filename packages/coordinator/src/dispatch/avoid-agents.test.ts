import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { avoidAgents } from './avoid-agents.js';

describe('avoidAgents', () => {
  it('moves a retried run off the agent it was lost on, by swapping with another run', () => {
    const plan = [
      { runId: 'lost', agentId: 'a' },
      { runId: 'fresh', agentId: 'b' },
    ];
    avoidAgents(plan, new Map([['lost', 'a']]));
    expect(plan).toEqual([
      { runId: 'lost', agentId: 'b' },
      { runId: 'fresh', agentId: 'a' },
    ]);
  });

  it('keeps the placement when there is no one to swap with', () => {
    const plan = [{ runId: 'lost', agentId: 'a' }];
    avoidAgents(plan, new Map([['lost', 'a']]));
    expect(plan).toEqual([{ runId: 'lost', agentId: 'a' }]);
  });

  it('never changes how many runs each agent takes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 12 }),
        fc.array(fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }), { maxLength: 12 }),
        (agents, avoided) => {
          const plan = agents.map((agentId, i) => ({ runId: `r${i}`, agentId }));
          const avoid = new Map(avoided.flatMap((x, i) => (x ? [[`r${i}`, x] as [string, string]] : [])));
          const count = (p: typeof plan) => ['a', 'b', 'c'].map((x) => p.filter((y) => y.agentId === x).length);
          const before = count(plan);
          avoidAgents(plan, avoid);
          expect(count(plan)).toEqual(before);
        },
      ),
    );
  });
});
