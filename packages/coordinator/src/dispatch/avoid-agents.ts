// A run lost with its agent should prefer another agent on its retry. Placement works per job,
// so the preference is applied after it: within one job's placed runs, a run sent back to the
// agent it should avoid swaps agents with a run that has no objection. Runs of one job ask for
// the same resources, so a swap never changes what any agent takes on. A preference, not a
// constraint: with no one to swap with, the run goes where placement put it.

/** Swaps agents between a job's assignments so runs avoid the agents they were lost on. */
export function avoidAgents(assignments: Array<{ runId: string; agentId: string }>, avoid: ReadonlyMap<string, string>): void {
  for (const a of assignments) {
    if (avoid.get(a.runId) !== a.agentId) continue;
    const partner = assignments.find((b) => b !== a && b.agentId !== a.agentId && avoid.get(b.runId) !== a.agentId);
    if (!partner) continue;
    [a.agentId, partner.agentId] = [partner.agentId, a.agentId];
  }
}
