import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowsNamespace, eligibleAgents, placeRuns, type AgentView, type PlacementRequest } from './placement.js';

function agent(agentId: string, namespaces?: string[] | null): AgentView {
  const total = { slots: 4, cpu: 8, memoryBytes: 2 ** 34 };
  return { agentId, attributes: {}, executors: ['exec', 'noop'], total, free: { ...total }, namespaces };
}

const request = (namespace?: string): PlacementRequest => ({
  executor: 'exec',
  constraints: [],
  resources: { cpu: 0, memoryBytes: 0 },
  ...(namespace === undefined ? {} : { namespace }),
});

describe('allowsNamespace', () => {
  it.each([
    { namespaces: undefined, job: 'team-a', allowed: true, why: 'an agent without a restriction takes any namespace' },
    { namespaces: null, job: 'team-a', allowed: true, why: 'null is no restriction' },
    { namespaces: ['team-a'], job: 'team-a', allowed: true, why: 'its own namespace' },
    { namespaces: ['team-a', 'team-b'], job: 'team-b', allowed: true, why: 'one of several' },
    { namespaces: ['team-b'], job: 'team-a', allowed: false, why: 'another namespace' },
    { namespaces: [], job: 'default', allowed: false, why: 'an empty list allows nothing' },
    { namespaces: ['team-a'], job: undefined, allowed: true, why: 'a job without a namespace (before namespaces existed)' },
  ])('$why', ({ namespaces, job, allowed }) => {
    expect(allowsNamespace({ namespaces }, job)).toBe(allowed);
  });
});

describe('placement by namespace', () => {
  it('never offers a run of namespace A to an agent restricted to B, and says why it waits', () => {
    const plan = placeRuns([agent('b', ['team-b'])], request('team-a'), 3);
    expect(plan.assignments).toEqual([]);
    expect(plan.satisfiable).toBe(false);
    expect(plan.reason).toMatch(/no agent is allowed namespace team-a/);
    expect(plan.reason).toMatch(/drover tokens create --role agent --namespace team-a/);
  });

  it('places on the allowed and unrestricted agents only', () => {
    const plan = placeRuns([agent('a', ['team-a']), agent('b', ['team-b']), agent('c')], request('team-a'), 8);
    expect(new Set(plan.assignments)).toEqual(new Set(['a', 'c']));
    expect(plan.assignments).toHaveLength(8);
  });

  it('checks the namespace before executors, so the reason names the namespace', () => {
    const shellOnly = { ...agent('s', ['team-b']), executors: ['shell'] };
    expect(eligibleAgents([shellOnly], request('team-a')).reason).toMatch(/namespace team-a/);
  });

  it('property: every assignment goes to an agent allowed the job namespace', () => {
    const namespaces = ['default', 'team-a', 'team-b'];
    const fleet = fc.array(
      fc.record({
        restriction: fc.option(fc.subarray(namespaces), { nil: undefined }),
        slots: fc.integer({ min: 0, max: 3 }),
      }),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(fleet, fc.constantFrom(...namespaces), fc.integer({ min: 0, max: 10 }), (specs, ns, count) => {
        const agents = specs.map((s, i) => {
          const a = agent(`agent-${i}`, s.restriction);
          a.total.slots = s.slots;
          a.free.slots = s.slots;
          return a;
        });
        const allowedIds = new Set(agents.filter((a) => a.namespaces == null || a.namespaces.includes(ns)).map((a) => a.agentId));
        const capacity = agents.filter((a) => allowedIds.has(a.agentId)).reduce((n, a) => n + a.free.slots, 0);
        const plan = placeRuns(agents, request(ns), count);
        for (const id of plan.assignments) expect(allowedIds.has(id)).toBe(true);
        // The rule only removes agents: as many runs are placed as the allowed agents have room for.
        expect(plan.assignments).toHaveLength(Math.min(count, capacity));
      }),
    );
  });
});
