// Placement: given a read-only view of the fleet and what a job needs, decide which
// agent takes each run. Pure: the dispatcher builds the view and commits the plan.
import { describeConstraint, firstUnmetConstraint, type Attributes, type Constraint } from './constraints.js';
import { formatBytes } from './units.js';

/** CPU (cores, may be fractional), memory (bytes) and slots (concurrent runs). */
export interface Capacity {
  slots: number;
  cpu: number;
  memoryBytes: number;
}

/** What one run asks of an agent. */
export interface ResourceRequest {
  cpu: number;
  memoryBytes: number;
}

/** The dispatcher's view of one agent at the moment of placement. */
export interface AgentView {
  agentId: string;
  attributes: Attributes;
  /** Executor types this agent will run (`exec`, `noop`, and `shell`/`http` when allowed). */
  executors: readonly string[];
  total: Capacity;
  free: Capacity;
  /** The job namespaces this agent may run; absent or null: any namespace. */
  namespaces?: readonly string[] | null;
}

/** What placement needs to know about a job. */
export interface PlacementRequest {
  executor: string;
  constraints: readonly Constraint[];
  resources: ResourceRequest;
  /** The job's namespace; absent: the job is placed as if every agent allowed it (no namespaces yet). */
  namespace?: string;
}

/** Whether an agent may run jobs of `namespace`: an agent without a restriction takes any. */
export function allowsNamespace(agent: Pick<AgentView, 'namespaces'>, namespace: string | undefined): boolean {
  if (namespace === undefined || agent.namespaces === undefined || agent.namespaces === null) return true;
  return agent.namespaces.includes(namespace);
}

/** The outcome of placing a batch of runs of one job. */
export interface PlacementPlan {
  /** Agent id for each placed run, in queue order; shorter than requested when capacity ran out. */
  assignments: string[];
  /** Why the remaining runs were not placed, in words an operator can act on. */
  reason?: string;
  /** True when some agent could take the job once capacity frees up (so waiting is useful). */
  satisfiable: boolean;
}

function fits(free: Capacity, r: ResourceRequest): boolean {
  return free.slots >= 1 && free.cpu + 1e-9 >= r.cpu && free.memoryBytes >= r.memoryBytes;
}

/** How loaded an agent is, 0 (idle) to 1 (full), as the most used of its dimensions. */
export function agentLoad(agent: AgentView): number {
  const used = (free: number, total: number) => (total > 0 ? 1 - free / total : 1);
  return Math.max(
    used(agent.free.slots, agent.total.slots),
    agent.total.cpu > 0 ? used(agent.free.cpu, agent.total.cpu) : 0,
    agent.total.memoryBytes > 0 ? used(agent.free.memoryBytes, agent.total.memoryBytes) : 0,
  );
}

/** The agents that could ever run this job (executor, constraints, total size), and why none could if so. */
export function eligibleAgents(agents: readonly AgentView[], req: PlacementRequest): { eligible: AgentView[]; reason?: string } {
  if (agents.length === 0) return { eligible: [], reason: 'no agent is connected' };
  const allowed = agents.filter((a) => allowsNamespace(a, req.namespace));
  if (allowed.length === 0)
    return {
      eligible: [],
      reason: `no agent is allowed namespace ${req.namespace} (join an agent with a token of that namespace: drover tokens create --role agent --namespace ${req.namespace})`,
    };
  const byExecutor = allowed.filter((a) => a.executors.includes(req.executor));
  if (byExecutor.length === 0) {
    const hint =
      req.executor === 'shell'
        ? ' (start an agent with --allow-shell)'
        : req.executor === 'http'
          ? ' (start an agent with --allow-http)'
          : '';
    return { eligible: [], reason: `no agent allows the ${req.executor} executor${hint}` };
  }
  let candidates = byExecutor;
  for (const c of req.constraints) {
    const next = candidates.filter((a) => firstUnmetConstraint(a.attributes, [c]) === undefined);
    if (next.length === 0) return { eligible: [], reason: `no agent matches ${describeConstraint(c)}` };
    candidates = next;
  }
  const bigEnough = candidates.filter(
    (a) => a.total.slots >= 1 && a.total.cpu + 1e-9 >= req.resources.cpu && a.total.memoryBytes >= req.resources.memoryBytes,
  );
  if (bigEnough.length === 0) {
    // Only agents with a slot could ever run it, so only they count as "largest".
    const withSlots = candidates.filter((a) => a.total.slots >= 1);
    if (withSlots.length === 0)
      return { eligible: [], reason: 'no matching agent is large enough: the job asks for a slot (every matching agent has 0 slots)' };
    const maxCpu = Math.max(...withSlots.map((a) => a.total.cpu));
    const maxMem = Math.max(...withSlots.map((a) => a.total.memoryBytes));
    const parts: string[] = [];
    if (req.resources.cpu > maxCpu) parts.push(`${req.resources.cpu} CPU (largest matching agent has ${maxCpu})`);
    if (req.resources.memoryBytes > maxMem)
      parts.push(`${formatBytes(req.resources.memoryBytes)} memory (largest matching agent has ${formatBytes(maxMem)})`);
    // Each dimension fits somewhere, but never both on the same agent.
    if (parts.length === 0)
      parts.push(`${req.resources.cpu} CPU and ${formatBytes(req.resources.memoryBytes)} memory on one agent (no matching agent has both)`);
    return { eligible: [], reason: `no matching agent is large enough: the job asks for ${parts.join(' and ')}` };
  }
  return { eligible: bigEnough };
}

/**
 * Places up to `count` runs of one job on the least loaded agents that fit them.
 * Mutates `free` on the given views so several jobs can be placed against one snapshot.
 */
export function placeRuns(agents: readonly AgentView[], req: PlacementRequest, count: number): PlacementPlan {
  const { eligible, reason } = eligibleAgents(agents, req);
  if (eligible.length === 0) return { assignments: [], reason: reason ?? 'no agent fits', satisfiable: false };
  const assignments: string[] = [];
  const heap = new LoadHeap(eligible.filter((a) => fits(a.free, req.resources)));
  while (assignments.length < count) {
    const a = heap.pop();
    if (!a) break;
    a.free.slots -= 1;
    a.free.cpu -= req.resources.cpu;
    a.free.memoryBytes -= req.resources.memoryBytes;
    assignments.push(a.agentId);
    if (fits(a.free, req.resources)) heap.push(a);
  }
  if (assignments.length < count) {
    const n = eligible.length;
    return {
      assignments,
      reason: `waiting for capacity: ${n} matching agent${n === 1 ? ' is' : 's are'} busy`,
      satisfiable: true,
    };
  }
  return { assignments, satisfiable: true };
}

/** A binary min-heap of agents by load, ties broken by agent id so placement is deterministic. */
class LoadHeap {
  private readonly items: Array<{ load: number; agent: AgentView }> = [];
  constructor(agents: AgentView[]) {
    for (const a of agents) this.push(a);
  }
  private less(i: number, j: number): boolean {
    const a = this.items[i]!;
    const b = this.items[j]!;
    return a.load < b.load || (a.load === b.load && a.agent.agentId < b.agent.agentId);
  }
  private swap(i: number, j: number): void {
    const t = this.items[i]!;
    this.items[i] = this.items[j]!;
    this.items[j] = t;
  }
  push(agent: AgentView): void {
    this.items.push({ load: agentLoad(agent), agent });
    let i = this.items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): AgentView | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (top === undefined || last === undefined) return undefined;
    if (this.items.length > 0) {
      this.items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.items.length && this.less(l, m)) m = l;
        if (r < this.items.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top.agent;
  }
}
