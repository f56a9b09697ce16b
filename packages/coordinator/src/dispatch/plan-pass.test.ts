// planPass: what one dispatch pass decides, from a fleet snapshot and pages of ready jobs.
// Tables for the cases an operator would notice, properties over random fleets and queues.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allowsNamespace,
  eligibleAgents,
  matchesConstraint,
  type AgentView,
  type Capacity,
  type Constraint,
  type PlacementRequest,
} from '@drover/shared';
import { planPass, type PassPlan, type ReadyJobInput, type ReadyPage } from './plan-pass.js';

const GiB = 2 ** 30;

function agent(
  agentId: string,
  opts: { total?: Partial<Capacity>; free?: Partial<Capacity>; executors?: string[]; namespaces?: string[] } = {},
): AgentView {
  const total: Capacity = { slots: 4, cpu: 8, memoryBytes: 16 * GiB, ...opts.total };
  return {
    agentId,
    attributes: {},
    executors: opts.executors ?? ['exec', 'noop'],
    total,
    free: { ...total, ...opts.free },
    ...(opts.namespaces ? { namespaces: opts.namespaces } : {}),
  };
}

const exec: PlacementRequest = { executor: 'exec', constraints: [], resources: { cpu: 0, memoryBytes: 0 } };
const job = (jobId: string, depth: number, extra: Partial<ReadyJobInput> = {}): ReadyJobInput => ({
  jobId,
  depth,
  requirements: exec,
  ...extra,
});
const page = (more: boolean, ...jobs: ReadyJobInput[]): ReadyPage => ({ jobs, more });
const placed = (plan: PassPlan): Record<string, string[]> => Object.fromEntries(plan.placements.map((p) => [p.jobId, p.agents]));

describe('planPass', () => {
  it('plans nothing for an empty queue, and says it was empty', () => {
    const plan = planPass({ agents: [agent('a')], pages: [page(false)], fullScan: false });
    expect(plan).toMatchObject({ empty: true, placements: [], deleted: [], leftOver: false, pages: 1 });
    expect(plan.reasons.size).toBe(0);
  });

  it('places queued runs on the agents with free slots, least loaded first, with no reason', () => {
    const agents = [agent('a', { free: { slots: 1 } }), agent('b', { free: { slots: 3 } })];
    const plan = planPass({ agents, pages: [page(false, job('j1', 3))], fullScan: false });
    expect(placed(plan)).toEqual({ j1: ['b', 'b', 'a'] });
    expect(plan.reasons).toEqual(new Map([['j1', null]]));
    expect(plan.leftOver).toBe(false);
  });

  it('places what fits and leaves the rest queued, waiting for a slot without a reason', () => {
    const plan = planPass({ agents: [agent('a', { total: { slots: 2 } })], pages: [page(false, job('j1', 5))], fullScan: false });
    expect(placed(plan)).toEqual({ j1: ['a', 'a'] });
    expect(plan.reasons.get('j1')).toBeNull();
    expect(plan.leftOver).toBe(true);
  });

  it('gives a job no agent could ever take its reason, and places nothing of it', () => {
    const shell: PlacementRequest = { ...exec, executor: 'shell' };
    const plan = planPass({
      agents: [agent('a')],
      pages: [page(false, job('j1', 2, { requirements: shell }), job('j2', 1))],
      fullScan: false,
    });
    expect(placed(plan)).toEqual({ j2: ['a'] });
    expect(plan.reasons.get('j1')).toMatch(/no agent allows the shell executor.*--allow-shell/);
    expect(plan.reasons.get('j2')).toBeNull();
  });

  it('never places a job on an agent outside its namespace', () => {
    const agents = [agent('a', { namespaces: ['team-a'] }), agent('b', { namespaces: ['team-b'] })];
    const plan = planPass({
      agents,
      pages: [
        page(
          false,
          job('j1', 2, { requirements: { ...exec, namespace: 'team-b' } }),
          job('j2', 1, { requirements: { ...exec, namespace: 'team-c' } }),
        ),
      ],
      fullScan: false,
    });
    expect(placed(plan)).toEqual({ j1: ['b', 'b'] });
    expect(plan.reasons.get('j2')).toMatch(/no agent is allowed namespace team-c/);
  });

  it('cancels the runs of a deleted job rather than placing them', () => {
    const plan = planPass({
      agents: [agent('a')],
      pages: [page(false, job('gone', 2, { requirements: null }), job('j1', 1))],
      fullScan: false,
    });
    expect(plan.deleted).toEqual(['gone']);
    expect(placed(plan)).toEqual({ j1: ['a'] });
    expect(plan.reasons.has('gone')).toBe(false);
    expect(plan.leftOver).toBe(false);
  });

  it('lets a job whose secrets cannot be had wait with the reason, its slots left to others', () => {
    const agents = [agent('a', { total: { slots: 1 } })];
    const plan = planPass({
      agents,
      pages: [page(false, job('j1', 1, { secretProblem: 'secret "db" does not exist' }), job('j2', 1))],
      fullScan: false,
    });
    expect(plan.reasons.get('j1')).toBe('secret "db" does not exist');
    expect(placed(plan)).toEqual({ j2: ['a'] });
    expect(plan.leftOver).toBe(true);
  });

  it('reads no page while the fleet is full, unless a full scan is due', () => {
    const agents = [agent('a', { free: { slots: 0 } })];
    const pages = [page(false, job('j1', 1))];
    const quick = planPass({ agents, pages, fullScan: false });
    expect(quick).toMatchObject({ pages: 0, placements: [], leftOver: true, empty: false });
    expect(quick.reasons.size).toBe(0);
  });

  it('on a full scan of a full fleet, gives reasons only where no agent could ever take the job', () => {
    const agents = [agent('a', { free: { slots: 0 } })];
    const big: PlacementRequest = { ...exec, resources: { cpu: 64, memoryBytes: 0 } };
    const pages = [page(true, job('j1', 1)), page(false, job('j2', 1, { requirements: big }))];
    const plan = planPass({ agents, pages, fullScan: true });
    expect(plan).toMatchObject({ pages: 2, placements: [], leftOver: true });
    expect(plan.reasons.get('j1')).toBeNull();
    expect(plan.reasons.get('j2')).toMatch(/no matching agent is large enough: the job asks for 64 CPU/);
  });

  it('stops reading pages once the free slots are used up', () => {
    const agents = [agent('a', { total: { slots: 2 } })];
    const plan = planPass({ agents, pages: [page(true, job('j1', 2)), page(false, job('j2', 1))], fullScan: false });
    expect(plan.pages).toBe(1);
    expect(placed(plan)).toEqual({ j1: ['a', 'a'] });
    expect(plan.reasons.has('j2')).toBe(false);
    expect(plan.leftOver).toBe(true);
  });

  it('never concludes that nothing is left from a pass that read more than one page', () => {
    const plan = planPass({ agents: [agent('a')], pages: [page(true, job('j1', 1)), page(false, job('j2', 1))], fullScan: false });
    expect(plan.pages).toBe(2);
    expect(placed(plan)).toEqual({ j1: ['a'], j2: ['a'] });
    expect(plan.leftOver).toBe(true);
  });

  it('leaves the fleet snapshot it was given as it was', () => {
    const agents = [agent('a')];
    planPass({ agents, pages: [page(false, job('j1', 3))], fullScan: false });
    expect(agents[0]?.free).toEqual(agents[0]?.total);
  });
});

// ---- properties over random fleets and queues ----

const namespaces = ['team-a', 'team-b'] as const;
const regions = ['eu', 'us'] as const;
const executors = ['exec', 'shell', 'noop'] as const;

const fleetArb: fc.Arbitrary<AgentView[]> = fc
  .array(
    fc.record({
      slots: fc.integer({ min: 0, max: 4 }),
      cpu: fc.constantFrom(0, 1, 2, 4),
      memoryGiB: fc.integer({ min: 0, max: 8 }),
      freeShare: fc.constantFrom(0, 0.25, 0.5, 1),
      region: fc.option(fc.constantFrom(...regions), { nil: undefined }),
      executors: fc.subarray([...executors], { minLength: 1 }),
      namespaces: fc.option(fc.subarray([...namespaces]), { nil: undefined }),
    }),
    { maxLength: 6 },
  )
  .map((specs) =>
    specs.map((s, i): AgentView => {
      const total = { slots: s.slots, cpu: s.cpu, memoryBytes: s.memoryGiB * GiB };
      return {
        agentId: `agent-${i}`,
        attributes: s.region ? { 'label.region': s.region } : {},
        executors: s.executors,
        total,
        free: { slots: Math.floor(s.slots * s.freeShare), cpu: s.cpu * s.freeShare, memoryBytes: total.memoryBytes * s.freeShare },
        ...(s.namespaces ? { namespaces: s.namespaces } : {}),
      };
    }),
  );

const constraintArb: fc.Arbitrary<Constraint> = fc.oneof(
  fc.constantFrom(...regions).map((value): Constraint => ({ attribute: 'label.region', operator: '=', value })),
  fc.constant<Constraint>({ attribute: 'label.region', operator: 'exists' }),
);

const requirementsArb: fc.Arbitrary<PlacementRequest> = fc.record({
  executor: fc.constantFrom(...executors),
  constraints: fc.array(constraintArb, { maxLength: 1 }),
  resources: fc.record({ cpu: fc.constantFrom(0, 0.5, 1, 3), memoryBytes: fc.constantFrom(0, GiB, 4 * GiB) }),
  namespace: fc.constantFrom(...namespaces),
});

/** Ready jobs (unique ids, some deleted, some with a secret problem) cut into pages. */
const pagesArb: fc.Arbitrary<ReadyPage[]> = fc
  .array(
    fc.record({
      depth: fc.integer({ min: 1, max: 8 }),
      requirements: fc.option(requirementsArb, { nil: null, freq: 6 }),
      secretProblem: fc.option(fc.constant('secret missing'), { nil: undefined, freq: 6 }),
    }),
    { maxLength: 12 },
  )
  .chain((jobs) => fc.tuple(fc.constant(jobs), fc.integer({ min: 1, max: 5 })))
  .map(([jobs, size]) => {
    const inputs = jobs.map((j, i): ReadyJobInput => ({ jobId: `job-${i}`, ...j }));
    const pages: ReadyPage[] = [];
    for (let i = 0; i < inputs.length || pages.length === 0; i += size)
      pages.push({ jobs: inputs.slice(i, i + size), more: i + size < inputs.length });
    return pages;
  });

const passArb = fc.record({ agents: fleetArb, pages: pagesArb, fullScan: fc.boolean() });

const eligible = (a: AgentView, req: PlacementRequest): boolean =>
  allowsNamespace(a, req.namespace) &&
  a.executors.includes(req.executor) &&
  req.constraints.every((c) => matchesConstraint(a.attributes, c)) &&
  a.total.slots >= 1;

const jobsRead = (pages: readonly ReadyPage[], plan: PassPlan): ReadyJobInput[] => pages.slice(0, plan.pages).flatMap((p) => p.jobs);

describe('planPass properties', () => {
  it('never gives an agent more runs, CPU or memory than it has free', () => {
    fc.assert(
      fc.property(passArb, (input) => {
        const plan = planPass(input);
        const reqOf = new Map(input.pages.flatMap((p) => p.jobs).map((j) => [j.jobId, j.requirements]));
        for (const a of input.agents) {
          const used = { slots: 0, cpu: 0, memoryBytes: 0 };
          for (const p of plan.placements)
            for (const id of p.agents)
              if (id === a.agentId) {
                used.slots++;
                used.cpu += reqOf.get(p.jobId)?.resources.cpu ?? 0;
                used.memoryBytes += reqOf.get(p.jobId)?.resources.memoryBytes ?? 0;
              }
          expect(used.slots).toBeLessThanOrEqual(a.free.slots);
          expect(used.cpu).toBeLessThanOrEqual(a.free.cpu + 1e-9);
          expect(used.memoryBytes).toBeLessThanOrEqual(a.free.memoryBytes);
        }
      }),
    );
  });

  it('places runs only on agents eligible for the job, never more than are queued', () => {
    fc.assert(
      fc.property(passArb, (input) => {
        const plan = planPass(input);
        const byId = new Map(input.pages.flatMap((p) => p.jobs).map((j) => [j.jobId, j]));
        for (const p of plan.placements) {
          const j = byId.get(p.jobId);
          expect(j?.requirements).toBeTruthy();
          expect(j?.secretProblem).toBeUndefined();
          expect(p.agents.length).toBeGreaterThan(0);
          expect(p.agents.length).toBeLessThanOrEqual(j?.depth ?? 0);
          for (const id of p.agents)
            expect(eligible(input.agents.find((a) => a.agentId === id) as AgentView, j?.requirements as PlacementRequest)).toBe(true);
        }
      }),
    );
  });

  it('gives a reason exactly where no agent could ever take the job (or its secrets are missing)', () => {
    fc.assert(
      fc.property(passArb, (input) => {
        const plan = planPass(input);
        for (const j of jobsRead(input.pages, plan)) {
          if (!j.requirements) {
            expect(plan.reasons.has(j.jobId)).toBe(false);
            continue;
          }
          const expected =
            j.secretProblem ?? (eligibleAgents(input.agents, j.requirements).eligible.length === 0 ? expect.any(String) : null);
          expect(plan.reasons.get(j.jobId)).toEqual(expected);
          if (plan.reasons.get(j.jobId) !== null) expect(plan.placements.some((p) => p.jobId === j.jobId)).toBe(false);
        }
        expect(plan.reasons.size).toBe(jobsRead(input.pages, plan).filter((j) => j.requirements).length);
      }),
    );
  });

  it('cancels exactly the deleted jobs it read', () => {
    fc.assert(
      fc.property(passArb, (input) => {
        const plan = planPass(input);
        expect(plan.deleted).toEqual(jobsRead(input.pages, plan).flatMap((j) => (j.requirements ? [] : [j.jobId])));
      }),
    );
  });

  it('reads another page only while slots remain, unless a full scan is due', () => {
    fc.assert(
      fc.property(passArb, (input) => {
        const plan = planPass(input);
        const free = input.agents.reduce((n, a) => n + a.free.slots, 0);
        const last = input.pages.findIndex((p) => !p.more) + 1;
        if (input.fullScan) expect(plan.pages).toBe(last);
        // Each page read but the first came after pages that left a slot free.
        for (let k = 1; k < plan.pages; k++) {
          const before = plan.placements.filter((p) => input.pages.slice(0, k).some((pg) => pg.jobs.some((j) => j.jobId === p.jobId)));
          if (!input.fullScan) expect(before.reduce((n, p) => n + p.agents.length, 0)).toBeLessThan(free);
        }
        // And it stopped early only with every slot used.
        if (plan.pages < last && !input.fullScan) expect(plan.placements.reduce((n, p) => n + p.agents.length, 0)).toBe(free);
      }),
    );
  });

  it('says nothing is left over only when every queued run is placed, from one page', () => {
    fc.assert(
      fc.property(passArb, (input) => {
        const plan = planPass(input);
        if (plan.leftOver) return;
        expect(plan.pages).toBe(1);
        expect(input.pages[0]?.more).toBe(false);
        for (const j of input.pages[0]?.jobs ?? [])
          if (j.requirements) expect(plan.placements.find((p) => p.jobId === j.jobId)?.agents.length).toBe(j.depth);
      }),
    );
  });

  it('places nothing on a full fleet', () => {
    fc.assert(
      fc.property(passArb, (input) => {
        const full = input.agents.map((a) => ({ ...a, free: { ...a.free, slots: 0 } }));
        const plan = planPass({ ...input, agents: full });
        expect(plan.placements).toEqual([]);
        if (jobsRead(input.pages, plan).some((j) => j.requirements)) expect(plan.leftOver).toBe(true);
      }),
    );
  });
});
