// Cancelling runs (the API, the overlap policy `replace`). One statement locks each run and
// decides by the state it finds: a run not on an agent (waiting, queued, offered, or between
// attempts) ends `cancelled` at once; a running one is marked cancel-requested and its agent is
// asked to stop it — SIGTERM, then SIGKILL after the job's grace — and it ends `cancelled` when
// the agent reports. Whatever that attempt ends as, no retry follows: the statement applying
// the end reads the mark under the same row lock (store/run-changes.ts), and every heartbeat
// repeats the stop until the agent has obeyed (shared/reconcile.ts).
import { sql } from 'kysely';
import type { StopRequest } from '@drover/shared';
import { askAgentsToStop } from './ask-agents-to-stop.js';
import { unqueueCommitted } from './queue-committed.js';
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
  const res = await sql<{ id: string; job_id: string; from_state: string; agent_id: string | null; attempt_token: number }>`
    WITH old AS (
      SELECT id, state FROM runs
       WHERE id = ANY(${[...runIds]}::text[]) AND state IN ('pending', 'queued', 'offered', 'retrying', 'running')
       FOR UPDATE
    ), upd AS (
      UPDATE runs r SET
        state = CASE WHEN old.state = 'running' THEN r.state ELSE 'cancelled' END,
        finished_at = CASE WHEN old.state = 'running' THEN r.finished_at ELSE to_timestamp(${at} / 1000.0) END,
        error = CASE WHEN old.state = 'running' THEN r.error ELSE ${reason} END,
        cancel_requested_at = CASE WHEN old.state = 'running' THEN COALESCE(r.cancel_requested_at, to_timestamp(${at} / 1000.0))
                                   ELSE r.cancel_requested_at END
        FROM old WHERE r.id = old.id
      RETURNING r.id, r.job_id, old.state AS from_state, r.agent_id, r.attempt_token
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, agent_id, reason, at)
      SELECT id, from_state, CASE WHEN from_state = 'running' THEN 'running' ELSE 'cancelled' END, attempt_token, agent_id,
             CASE WHEN from_state = 'running' THEN 'cancel requested: ' || ${reason} ELSE ${reason} END, to_timestamp(${at} / 1000.0)
        FROM upd
    )
    SELECT * FROM upd`.execute(ctx.db);
  const byJob = new Map<string, string[]>();
  for (const r of res.rows) if (r.from_state === 'queued') byJob.set(r.job_id, [...(byJob.get(r.job_id) ?? []), r.id]);
  await unqueueCommitted(ctx.queue, ctx.log, byJob);
  // Runs on agents (running, or just offered and maybe starting): ask their agents to stop them.
  const targets = res.rows
    .filter((r) => r.from_state === 'running' || r.from_state === 'offered')
    .map((r) => ({ runId: r.id, token: Number(r.attempt_token), agentId: r.agent_id }))
    .filter((t): t is { runId: string; token: number; agentId: string } => t.agentId !== null);
  const agentIds = [...new Set(targets.map((t) => t.agentId))];
  const nodes =
    agentIds.length === 0 ? [] : await ctx.db.selectFrom('agents').select(['id', 'node_id']).where('id', 'in', agentIds).execute();
  const nodeOf = new Map(nodes.map((n) => [n.id, n.node_id]));
  const byNode = new Map<string, StopRequest['runs']>();
  for (const t of targets) {
    const node = nodeOf.get(t.agentId);
    if (node) byNode.set(node, [...(byNode.get(node) ?? []), { runId: t.runId, token: t.token }]);
  }
  askAgentsToStop(ctx, byNode, reason);
  const stopping = res.rows.filter((r) => r.from_state === 'running').length;
  ctx.metrics.runsEnded(res.rows.filter((r) => r.from_state !== 'running').map(() => 'cancelled'));
  return { ended: res.rows.length - stopping, stopping };
}
