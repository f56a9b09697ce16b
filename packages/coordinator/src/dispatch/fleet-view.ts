// The dispatcher's picture of the fleet: who is ready, how big each agent is, and how much
// of it is free right now. Free capacity comes from the agents themselves (capacity events,
// newest version wins) minus what this dispatcher has offered and not yet heard back about,
// so it errs towards offering too little, never too much; agents refuse any excess anyway.
import type { AgentView, Capacity, CapacityEvent } from '@drover/shared';
import type { Agent } from '../store/agents.js';

interface Entry {
  agent: Agent;
  /** Epoch ms until which this agent gets no offers (it failed to answer one). */
  suspendedUntil: number;
  free: Capacity;
  version: number;
  inflight: Capacity;
}

const zero = (): Capacity => ({ slots: 0, cpu: 0, memoryBytes: 0 });

export class FleetView {
  private readonly entries = new Map<string, Entry>();

  /** Replaces the set of schedulable agents, keeping what capacity events already told us. */
  replace(agents: readonly Agent[]): void {
    const keep = new Set<string>();
    for (const a of agents) {
      keep.add(a.id);
      const e = this.entries.get(a.id);
      // A re-registered agent restarts its version counter: trust its registration figures.
      if (!e || e.agent.registeredAt !== a.registeredAt || e.agent.nodeId !== a.nodeId) {
        this.entries.set(a.id, { agent: a, free: { ...a.free }, version: -1, inflight: e?.inflight ?? zero(), suspendedUntil: 0 });
      } else {
        e.agent = a;
      }
    }
    for (const id of this.entries.keys()) if (!keep.has(id)) this.entries.delete(id);
  }

  /** Applies an agent's capacity report if it is newer than what we have; true when it was. */
  onCapacity(evt: CapacityEvent): boolean {
    const e = this.entries.get(evt.agentId);
    if (!e || evt.version <= e.version) return false;
    e.version = evt.version;
    e.free = { ...evt.free };
    return true;
  }

  /** The agent's Moleculer node, to address offers to it. */
  nodeOf(agentId: string): string | undefined {
    return this.entries.get(agentId)?.agent.nodeId;
  }

  /** Sends no offers to an agent until `until` (epoch ms): it just failed to answer one. */
  suspend(agentId: string, until: number): void {
    const e = this.entries.get(agentId);
    if (e) e.suspendedUntil = until;
  }

  /** Holds capacity for offers on their way to an agent. */
  reserve(agentId: string, c: Capacity): void {
    const e = this.entries.get(agentId);
    if (!e) return;
    e.inflight.slots += c.slots;
    e.inflight.cpu += c.cpu;
    e.inflight.memoryBytes += c.memoryBytes;
  }

  /** Releases what `reserve` held, once the agent answered. */
  release(agentId: string, c: Capacity): void {
    const e = this.entries.get(agentId);
    if (!e) return;
    e.inflight.slots = Math.max(0, e.inflight.slots - c.slots);
    e.inflight.cpu = Math.max(0, e.inflight.cpu - c.cpu);
    e.inflight.memoryBytes = Math.max(0, e.inflight.memoryBytes - c.memoryBytes);
  }

  /**
   * A fresh, mutable snapshot for one placement pass, of the agents `reachable` says can be
   * addressed now (an agent may register before the bus has announced its services to us).
   */
  snapshot(now: number, reachable: (nodeId: string) => boolean = () => true): AgentView[] {
    return [...this.entries.values()]
      .filter((e) => e.suspendedUntil <= now && reachable(e.agent.nodeId))
      .map((e) => ({
        agentId: e.agent.id,
        attributes: e.agent.attributes,
        executors: e.agent.executors,
        total: e.agent.total,
        namespaces: e.agent.namespaces,
        free: {
          slots: Math.max(0, e.free.slots - e.inflight.slots),
          cpu: Math.max(0, e.free.cpu - e.inflight.cpu),
          memoryBytes: Math.max(0, e.free.memoryBytes - e.inflight.memoryBytes),
        },
      }));
  }

  /** How many agents are schedulable. */
  get size(): number {
    return this.entries.size;
  }
}
