// Cancelling runs (the API, the overlap policy `replace`). One statement locks each run and
// decides by the state it finds: a run not on an agent (waiting, queued, offered, or between
// attempts) ends `cancelled` at once; a running one is marked cancel-requested and its agent is
// asked to stop it — SIGTERM, then SIGKILL after the job's grace — and it ends `cancelled` when
// the agent reports. Whatever that attempt ends as, no retry follows: the statement applying
// the end reads the mark under the same row lock (store/run-changes.ts), and every heartbeat
// repeats the stop until the agent has obeyed (shared/reconcile.ts).
import type { StopRequest } from '@drover/shared';
import { askAgentsToStop } from './ask-agents-to-stop.js';
import { unqueueCommitted } from './queue-committed.js';
import { cancelRunRecords } from '../store/cancel-runs.js';
import { nodesOfAgents } from '../store/agents.js';
import type { CoordinatorContext } from '../context.js';

/** Cancels these runs, whatever their live state; returns how many ended at once. */
export async function cancelRuns(ctx: CoordinatorContext, runIds: readonly string[], reason: string): Promise<number> {
  return (await cancelRunsDetailed(ctx, runIds, reason)).ended;
}

/** Cancels these runs; says how many ended at once and how many their agents were asked to stop. */
export async function cancelRunsDetailed(
  ctx: CoordinatorContext,
  runIds: readonly string[],
  reason: string,
): Promise<{ ended: number; stopping: number }> {
  if (runIds.length === 0) return { ended: 0, stopping: 0 };
  const at = ctx.now();
  const rows = await cancelRunRecords(ctx.db, runIds, reason, at);
  const byJob = new Map<string, string[]>();
  for (const r of rows) if (r.from_state === 'queued') byJob.set(r.job_id, [...(byJob.get(r.job_id) ?? []), r.id]);
  await unqueueCommitted(ctx.queue, ctx.log, byJob);
  // Runs on agents (running, or just offered and maybe starting): ask their agents to stop them.
  const targets = rows
    .filter((r) => r.from_state === 'running' || r.from_state === 'offered')
    .map((r) => ({ runId: r.id, token: Number(r.attempt_token), agentId: r.agent_id }))
    .filter((t): t is { runId: string; token: number; agentId: string } => t.agentId !== null);
  const agentIds = [...new Set(targets.map((t) => t.agentId))];
  const nodeOf = agentIds.length === 0 ? new Map<string, string>() : await nodesOfAgents(ctx.db, agentIds);
  const byNode = new Map<string, StopRequest['runs']>();
  for (const t of targets) {
    const node = nodeOf.get(t.agentId);
    if (node) byNode.set(node, [...(byNode.get(node) ?? []), { runId: t.runId, token: t.token }]);
  }
  askAgentsToStop(ctx, byNode, reason);
  const stopping = rows.filter((r) => r.from_state === 'running').length;
  ctx.metrics.runsEnded(rows.filter((r) => r.from_state !== 'running').map(() => 'cancelled'));
  return { ended: rows.length - stopping, stopping };
}
