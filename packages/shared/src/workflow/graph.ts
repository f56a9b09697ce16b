// The step graph: upstream-first order (Kahn's algorithm, linear in steps + edges) and, when
// there is none, one cycle to name in the error.
import type { WorkflowStep } from './definition.js';

/** Steps upstream-first, or one cycle as a path of names whose first and last are the same. */
export type StepOrder = { order: string[] } | { cycle: string[] };

/** Orders the steps upstream-first; `dependsOn` names that are not steps are ignored. */
export function orderSteps(steps: readonly Pick<WorkflowStep, 'name' | 'dependsOn'>[]): StepOrder {
  const upstreamOf = new Map<string, string[]>();
  for (const s of steps) upstreamOf.set(s.name, []);
  const downstreamOf = new Map<string, string[]>();
  for (const s of steps) {
    for (const up of new Set(s.dependsOn ?? [])) {
      if (!upstreamOf.has(up)) continue;
      upstreamOf.get(s.name)!.push(up);
      const down = downstreamOf.get(up);
      if (down) down.push(s.name);
      else downstreamOf.set(up, [s.name]);
    }
  }
  const waiting = new Map<string, number>();
  const ready: string[] = [];
  for (const [name, ups] of upstreamOf) {
    waiting.set(name, ups.length);
    if (ups.length === 0) ready.push(name);
  }
  const order: string[] = [];
  while (ready.length > 0) {
    const name = ready.pop()!;
    order.push(name);
    for (const down of downstreamOf.get(name) ?? []) {
      const left = waiting.get(down)! - 1;
      waiting.set(down, left);
      if (left === 0) ready.push(down);
    }
  }
  if (order.length === upstreamOf.size) return { order };
  return { cycle: findCycle(upstreamOf, waiting) };
}

// Every step Kahn left has an upstream that was left too, so walking upstream from any of
// them must revisit a step; the walk from that step on is the cycle (reversed: upstream-first).
function findCycle(upstreamOf: Map<string, string[]>, waiting: Map<string, number>): string[] {
  const left = (name: string) => waiting.get(name)! > 0;
  let at = [...waiting.keys()].find(left)!;
  const seenAt = new Map<string, number>();
  const walk: string[] = [];
  while (!seenAt.has(at)) {
    seenAt.set(at, walk.length);
    walk.push(at);
    at = upstreamOf.get(at)!.find(left)!;
  }
  const cycle = walk.slice(seenAt.get(at)).reverse();
  // Start at the step written first, so the same definition always names the same path.
  const written = new Map([...upstreamOf.keys()].map((name, i) => [name, i]));
  const first = cycle.reduce((best, name, i) => (written.get(name)! < written.get(cycle[best]!)! ? i : best), 0);
  const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
  return [...rotated, rotated[0]!];
}
