import { describe, expect, it } from 'vitest';
import type { Attributes, Constraint } from './constraints.js';
import { agentLoad, eligibleAgents, placeRuns, type AgentView, type Capacity, type PlacementRequest } from './placement.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** A valid agent: idle unless `free` says otherwise, running `exec` and `noop` like a default agent. */
function agent(
  agentId: string,
  opts: { total?: Partial<Capacity>; free?: Partial<Capacity>; attributes?: Attributes; executors?: string[] } = {},
): AgentView {
  const total: Capacity = { slots: 4, cpu: 8, memoryBytes: 16 * GiB, ...opts.total };
  return {
    agentId,
    attributes: opts.attributes ?? {},
    executors: opts.executors ?? ['exec', 'noop'],
    total,
    free: { ...total, ...opts.free },
  };
}

function request(opts: Partial<PlacementRequest> & { cpu?: number; memoryBytes?: number } = {}): PlacementRequest {
  return {
    executor: opts.executor ?? 'exec',
    constraints: opts.constraints ?? [],
    resources: opts.resources ?? { cpu: opts.cpu ?? 0, memoryBytes: opts.memoryBytes ?? 0 },
  };
}

const region = (value: string): Constraint => ({ attribute: 'label.region', operator: '=', value });

describe('eligibleAgents', () => {
  it.each<[string, AgentView[], PlacementRequest, string]>([
    ['an empty fleet', [], request(), 'no agent is connected'],
    [
      'shell not allowed',
      [agent('a'), agent('b')],
      request({ executor: 'shell' }),
      'no agent allows the shell executor (start an agent with --allow-shell)',
    ],
    [
      'http not allowed',
      [agent('a')],
      request({ executor: 'http' }),
      'no agent allows the http executor (start an agent with --allow-http)',
    ],
    ['exec not allowed', [agent('a', { executors: ['noop'] })], request(), 'no agent allows the exec executor'],
    [
      'no region match',
      [agent('a', { attributes: { 'label.region': 'us' } }), agent('b')],
      request({ constraints: [region('eu')] }),
      'no agent matches label.region = eu',
    ],
    [
      // Constraints filter in turn, so the reason names the one that removed the last candidates.
      'the constraint that emptied the candidates',
      [agent('a', { attributes: { 'label.region': 'eu' } }), agent('b', { attributes: { 'label.region': 'us', 'gpu.count': 2 } })],
      request({ constraints: [region('eu'), { attribute: 'gpu.count', operator: '>=', value: 1 }] }),
      'no agent matches gpu.count >= 1',
    ],
    [
      'a constraint on an agent that does not run the executor',
      [agent('a', { attributes: { 'label.region': 'eu' }, executors: ['noop'] }), agent('b', { attributes: { 'label.region': 'us' } })],
      request({ constraints: [region('eu')] }),
      'no agent matches label.region = eu',
    ],
    [
      'too much CPU',
      [agent('a', { total: { cpu: 8 } }), agent('b', { total: { cpu: 4 } })],
      request({ cpu: 16 }),
      'no matching agent is large enough: the job asks for 16 CPU (largest matching agent has 8)',
    ],
    [
      'too much memory',
      [agent('a', { total: { memoryBytes: 16 * GiB } })],
      request({ memoryBytes: 64 * GiB }),
      'no matching agent is large enough: the job asks for 64GiB memory (largest matching agent has 16GiB)',
    ],
    [
      'too much of both',
      [agent('a', { total: { cpu: 8, memoryBytes: 16 * GiB } })],
      request({ cpu: 16, memoryBytes: 64 * GiB }),
      'no matching agent is large enough: the job asks for 16 CPU (largest matching agent has 8) and 64GiB memory (largest matching agent has 16GiB)',
    ],
    [
      // The big agent is in the wrong region, so it does not count as "largest matching".
      'only matching agents count towards the largest',
      [
        agent('big', { total: { cpu: 64 }, attributes: { 'label.region': 'us' } }),
        agent('small', { total: { cpu: 2 }, attributes: { 'label.region': 'eu' } }),
      ],
      request({ cpu: 4, constraints: [region('eu')] }),
      'no matching agent is large enough: the job asks for 4 CPU (largest matching agent has 2)',
    ],
    [
      'enough CPU on one agent and enough memory on another, but never both',
      [agent('cpu-heavy', { total: { cpu: 32, memoryBytes: 2 * GiB } }), agent('mem-heavy', { total: { cpu: 2, memoryBytes: 64 * GiB } })],
      request({ cpu: 8, memoryBytes: 8 * GiB }),
      'no matching agent is large enough: the job asks for 8 CPU and 8GiB memory on one agent (no matching agent has both)',
    ],
    [
      'agents without slots',
      [agent('a', { total: { slots: 0 } })],
      request(),
      'no matching agent is large enough: the job asks for a slot (every matching agent has 0 slots)',
    ],
    [
      'a slotless giant does not count as the largest',
      [agent('giant', { total: { slots: 0, cpu: 128 } }), agent('small', { total: { cpu: 2 } })],
      request({ cpu: 4 }),
      'no matching agent is large enough: the job asks for 4 CPU (largest matching agent has 2)',
    ],
  ])('%s', (_name, agents, req, reason) => {
    expect(eligibleAgents(agents, req)).toEqual({ eligible: [], reason });
  });

  it('keeps busy agents that match and could ever fit, and drops those too small or filtered out', () => {
    const busy = agent('busy', { free: { slots: 0, cpu: 0, memoryBytes: 0 }, attributes: { 'label.region': 'eu' } });
    const idle = agent('idle', { attributes: { 'label.region': 'eu' } });
    const tiny = agent('tiny', { total: { cpu: 0.25 }, attributes: { 'label.region': 'eu' } });
    const elsewhere = agent('elsewhere', { attributes: { 'label.region': 'us' } });
    const shellOnly = agent('shell-only', { executors: ['shell'], attributes: { 'label.region': 'eu' } });
    const result = eligibleAgents([busy, idle, tiny, elsewhere, shellOnly], request({ cpu: 1, constraints: [region('eu')] }));
    expect(result.reason).toBeUndefined();
    expect(result.eligible.map((a) => a.agentId)).toEqual(['busy', 'idle']);
  });
});

describe('agentLoad', () => {
  it.each<[string, AgentView, number]>([
    ['idle', agent('a'), 0],
    ['full slots', agent('a', { free: { slots: 0 } }), 1],
    ['the most used dimension wins', agent('a', { free: { slots: 3, cpu: 2, memoryBytes: 8 * GiB } }), 0.75],
    ['no slots at all is full', agent('a', { total: { slots: 0 } }), 1],
    ['no CPU or memory declared is not loaded by them', agent('a', { total: { cpu: 0, memoryBytes: 0 } }), 0],
  ])('%s', (_name, a, load) => {
    expect(agentLoad(a)).toBeCloseTo(load, 12);
  });
});

describe('placeRuns', () => {
  it('places the first run on the least loaded agent', () => {
    const agents = [agent('a', { free: { slots: 2 } }), agent('b', { free: { cpu: 4 } }), agent('c', { free: { slots: 3 } })];
    // Loads: a 0.5, b 0.5, c 0.25.
    expect(placeRuns(agents, request(), 1)).toEqual({ assignments: ['c'], satisfiable: true });
  });

  it('spreads runs over identical agents, breaking ties by agent id', () => {
    const agents = [agent('c'), agent('a'), agent('b')];
    expect(placeRuns(agents, request(), 5).assignments).toEqual(['a', 'b', 'c', 'a', 'b']);
  });

  it('gives the same plan whatever the order of the fleet', () => {
    const fleet = () => [
      agent('x1', { free: { slots: 2 } }),
      agent('x2'),
      agent('x3', { free: { cpu: 2 } }),
      agent('x0', { total: { slots: 8 } }),
    ];
    const forward = placeRuns(fleet(), request({ cpu: 1 }), 9);
    const backward = placeRuns(fleet().reverse(), request({ cpu: 1 }), 9);
    expect(backward).toEqual(forward);
    expect(forward.assignments).toHaveLength(9);
  });

  it('stops at free slots and says it is waiting for capacity', () => {
    const agents = [agent('a', { total: { slots: 4 }, free: { slots: 2 } })];
    expect(placeRuns(agents, request(), 5)).toEqual({
      assignments: ['a', 'a'],
      reason: 'waiting for capacity: 1 matching agent is busy',
      satisfiable: true,
    });
    expect(agents[0]!.free.slots).toBe(0);
  });

  it('stops at free CPU', () => {
    const agents = [agent('a', { total: { slots: 10, cpu: 2 }, free: { cpu: 1 } })];
    const plan = placeRuns(agents, request({ cpu: 0.4 }), 10);
    expect(plan.assignments).toEqual(['a', 'a']);
    expect(agents[0]!.free.cpu).toBeCloseTo(0.2, 9);
    expect(agents[0]!.free.slots).toBe(8);
  });

  it('stops at free memory', () => {
    const agents = [agent('a', { total: { slots: 10, memoryBytes: 4 * GiB }, free: { memoryBytes: 1 * GiB } })];
    const plan = placeRuns(agents, request({ memoryBytes: 300 * MiB }), 10);
    expect(plan.assignments).toEqual(['a', 'a', 'a']);
    expect(agents[0]!.free.memoryBytes).toBe(GiB - 900 * MiB);
  });

  it('uses fractional CPU exactly, despite floating-point error', () => {
    const agents = [agent('a', { total: { slots: 10, cpu: 0.3 } })];
    expect(placeRuns(agents, request({ cpu: 0.1 }), 5).assignments).toEqual(['a', 'a', 'a']);
  });

  it('moves to the next agent as one fills up', () => {
    const agents = [agent('a', { total: { slots: 1 } }), agent('b', { total: { slots: 2 } })];
    const plan = placeRuns(agents, request(), 4);
    expect(plan.assignments).toEqual(['a', 'b', 'b']);
    expect(plan.reason).toBe('waiting for capacity: 2 matching agents are busy');
    expect(plan.satisfiable).toBe(true);
  });

  it('waits, satisfiable, when every matching agent is full', () => {
    const agents = [
      agent('a', { free: { slots: 0 }, attributes: { 'label.region': 'eu' } }),
      agent('b', { free: { memoryBytes: 0 }, attributes: { 'label.region': 'eu' } }),
      agent('idle-but-elsewhere', { attributes: { 'label.region': 'us' } }),
    ];
    expect(placeRuns(agents, request({ memoryBytes: MiB, constraints: [region('eu')] }), 1)).toEqual({
      assignments: [],
      reason: 'waiting for capacity: 2 matching agents are busy',
      satisfiable: true,
    });
  });

  it('is unsatisfiable, with the eligibility reason, when no agent could ever run the job', () => {
    expect(placeRuns([agent('a')], request({ executor: 'shell' }), 3)).toEqual({
      assignments: [],
      reason: 'no agent allows the shell executor (start an agent with --allow-shell)',
      satisfiable: false,
    });
    expect(placeRuns([], request(), 1)).toEqual({ assignments: [], reason: 'no agent is connected', satisfiable: false });
  });

  it('places nothing and needs no reason for zero runs', () => {
    const agents = [agent('a')];
    expect(placeRuns(agents, request({ cpu: 1 }), 0)).toEqual({ assignments: [], satisfiable: true });
    expect(agents[0]!.free).toEqual(agents[0]!.total);
  });

  it('lets several jobs share one snapshot: a later job sees what an earlier one took', () => {
    const agents = [agent('a', { total: { slots: 2, cpu: 2 } })];
    expect(placeRuns(agents, request({ cpu: 1.5 }), 1).assignments).toEqual(['a']);
    expect(placeRuns(agents, request({ cpu: 1 }), 1)).toEqual({
      assignments: [],
      reason: 'waiting for capacity: 1 matching agent is busy',
      satisfiable: true,
    });
    expect(placeRuns(agents, request({ cpu: 0.5 }), 1).assignments).toEqual(['a']);
  });
});

// ---- properties over random fleets ----
