// Properties of placement over random fleets and jobs: no over-commit, work conservation,
// agreement with a naive least-loaded-first specification. Examples are in placement.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesConstraint, type Constraint } from './constraints.js';
import { agentLoad, eligibleAgents, placeRuns, type AgentView, type PlacementRequest } from './placement.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const region = (value: string): Constraint => ({ attribute: 'label.region', operator: '=', value });

const regions = ['eu', 'us', 'ap'] as const;
const executorKinds = ['exec', 'shell', 'http', 'noop'] as const;

const capacityAndFree = fc
  .record({
    slots: fc.integer({ min: 0, max: 4 }),
    cpu: fc.constantFrom(0, 0.5, 1, 2, 4, 8),
    memQuarterGiB: fc.integer({ min: 0, max: 64 }),
    freeSlots: fc.integer({ min: 0, max: 4 }),
    freeCpuTenths: fc.integer({ min: 0, max: 10 }),
    freeMemQuarters: fc.integer({ min: 0, max: 4 }),
  })
  .map(({ slots, cpu, memQuarterGiB, freeSlots, freeCpuTenths, freeMemQuarters }) => {
    const memoryBytes = memQuarterGiB * 256 * MiB;
    return {
      total: { slots, cpu, memoryBytes },
      free: {
        slots: Math.min(slots, freeSlots),
        cpu: (cpu * freeCpuTenths) / 10,
        memoryBytes: (memoryBytes / 4) * freeMemQuarters,
      },
    };
  });

const fleetArb: fc.Arbitrary<AgentView[]> = fc
  .array(
    fc.record({
      cap: capacityAndFree,
      region: fc.option(fc.constantFrom(...regions), { nil: undefined }),
      cores: fc.integer({ min: 1, max: 16 }),
      executors: fc.subarray([...executorKinds], { minLength: 1 }),
    }),
    { maxLength: 8 },
  )
  .chain((specs) =>
    // Unique ids in a shuffled order, so tie-breaking by id is exercised regardless of input order.
    fc.shuffledSubarray(
      specs.map((s, i) => ({ ...s, id: `agent-${String.fromCharCode(97 + i)}` })),
      { minLength: specs.length, maxLength: specs.length },
    ),
  )
  .map((specs) =>
    specs.map((s) => ({
      agentId: s.id,
      attributes: { 'cpu.cores': s.cores, ...(s.region ? { 'label.region': s.region } : {}) },
      executors: s.executors,
      total: s.cap.total,
      free: s.cap.free,
    })),
  );

const constraintArb: fc.Arbitrary<Constraint> = fc.oneof(
  fc.constantFrom(...regions).map((r) => region(r)),
  fc.constantFrom(...regions).map((r): Constraint => ({ attribute: 'label.region', operator: '!=', value: r })),
  fc.constant<Constraint>({ attribute: 'label.region', operator: 'exists' }),
  fc.integer({ min: 1, max: 16 }).map((n): Constraint => ({ attribute: 'cpu.cores', operator: '>=', value: n })),
);

const requestArb: fc.Arbitrary<PlacementRequest> = fc.record({
  executor: fc.constantFrom(...executorKinds),
  constraints: fc.array(constraintArb, { maxLength: 2 }),
  resources: fc.record({
    cpu: fc.constantFrom(0, 0.1, 0.25, 0.5, 1, 3),
    memoryBytes: fc.constantFrom(0, 100 * MiB, 256 * MiB, GiB, 4 * GiB),
  }),
});

const countArb = fc.integer({ min: 0, max: 12 });

const cloneFleet = (agents: AgentView[]): AgentView[] => agents.map((a) => ({ ...a, total: { ...a.total }, free: { ...a.free } }));

function fitsNow(a: AgentView, req: PlacementRequest): boolean {
  return a.free.slots >= 1 && a.free.cpu + 1e-9 >= req.resources.cpu && a.free.memoryBytes >= req.resources.memoryBytes;
}

/** The specification, written naively: each run goes to the least loaded fitting agent, ties to the smallest id. */
function referencePlacement(agents: AgentView[], req: PlacementRequest, count: number): string[] {
  const eligible = eligibleAgents(agents, req).eligible;
  const out: string[] = [];
  while (out.length < count) {
    const fitting = eligible.filter((a) => fitsNow(a, req));
    if (fitting.length === 0) break;
    fitting.sort((x, y) => agentLoad(x) - agentLoad(y) || (x.agentId < y.agentId ? -1 : x.agentId > y.agentId ? 1 : 0));
    const best = fitting[0]!;
    best.free.slots -= 1;
    best.free.cpu -= req.resources.cpu;
    best.free.memoryBytes -= req.resources.memoryBytes;
    out.push(best.agentId);
  }
  return out;
}

describe('placement properties', () => {
  it('never over-commits an agent, places at most count runs, and only on agents that satisfy the job', () => {
    fc.assert(
      fc.property(fleetArb, requestArb, countArb, (fleet, req, count) => {
        const before = new Map(fleet.map((a) => [a.agentId, { ...a.free }]));
        const plan = placeRuns(fleet, req, count);
        expect(plan.assignments.length).toBeLessThanOrEqual(count);
        const perAgent = new Map<string, number>();
        for (const id of plan.assignments) perAgent.set(id, (perAgent.get(id) ?? 0) + 1);
        for (const [id, n] of perAgent) {
          const a = fleet.find((x) => x.agentId === id)!;
          const free = before.get(id)!;
          expect(n).toBeLessThanOrEqual(free.slots);
          expect(n * req.resources.cpu).toBeLessThanOrEqual(free.cpu + 1e-6);
          expect(n * req.resources.memoryBytes).toBeLessThanOrEqual(free.memoryBytes);
          expect(a.executors).toContain(req.executor);
          for (const c of req.constraints) expect(matchesConstraint(a.attributes, c)).toBe(true);
        }
        // The views are debited exactly by what was placed on them.
        for (const a of fleet) {
          const n = perAgent.get(a.agentId) ?? 0;
          const free = before.get(a.agentId)!;
          expect(a.free.slots).toBe(free.slots - n);
          expect(a.free.memoryBytes).toBe(free.memoryBytes - n * req.resources.memoryBytes);
          expect(a.free.cpu).toBeCloseTo(free.cpu - n * req.resources.cpu, 9);
        }
      }),
    );
  });

  it('is work-conserving: a short plan either cannot ever be satisfied or has no fitting eligible agent left', () => {
    fc.assert(
      fc.property(fleetArb, requestArb, countArb, (fleet, req, count) => {
        const { eligible } = eligibleAgents(fleet, req);
        const plan = placeRuns(fleet, req, count);
        expect(plan.satisfiable).toBe(eligible.length > 0);
        if (!plan.satisfiable) {
          expect(plan.assignments).toEqual([]);
          expect(plan.reason).toBe(eligibleAgents(fleet, req).reason);
        } else if (plan.assignments.length === count) {
          expect(plan.reason).toBeUndefined();
        } else {
          expect(plan.reason).toMatch(/^waiting for capacity: \d+ matching agents? (is|are) busy$/);
          expect(eligible.filter((a) => fitsNow(a, req))).toEqual([]);
        }
      }),
    );
  });

  it('matches the naive least-loaded-first specification run for run', () => {
    fc.assert(
      fc.property(fleetArb, requestArb, countArb, (fleet, req, count) => {
        const expected = referencePlacement(cloneFleet(fleet), req, count);
        expect(placeRuns(fleet, req, count).assignments).toEqual(expected);
      }),
    );
  });

  it('does not depend on the order of the fleet', () => {
    fc.assert(
      fc.property(
        fleetArb.chain((fleet) =>
          fc.tuple(fc.constant(fleet), fc.shuffledSubarray(fleet, { minLength: fleet.length, maxLength: fleet.length })),
        ),
        requestArb,
        countArb,
        ([fleet, shuffled], req, count) => {
          expect(placeRuns(cloneFleet(shuffled), req, count)).toEqual(placeRuns(cloneFleet(fleet), req, count));
        },
      ),
    );
  });
});
