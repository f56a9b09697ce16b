// Moleculer service `drover.runs`: agents report run events here, in batches.
import type { Context, ServiceSchema } from 'moleculer';
import { EVENTS, SERVICES, type ReportRequest, type ReportResponse } from '@drover/shared';
import type { CoordinatorContext } from '../context.js';
import { applyAgentEvents } from '../store/apply-events.js';
import { SCHEDULE_CHANGED_EVENT } from '../ops/enqueue.js';
import { assigneesOf } from '../store/agent-identity.js';

/** Told about every applied batch: the runs that changed, and the jobs whose runs ended. */
export type RunChangeListener = (changed: Map<string, string>, endedJobs: Set<string>) => void;

/** The runs service: applies each report as one fenced batch and tells the agent what to stop. */
export function runsService(ctx: CoordinatorContext, onChange: RunChangeListener): ServiceSchema {
  return {
    name: SERVICES.runs,
    actions: {
      report: {
        async handler(c: Context<ReportRequest>): Promise<ReportResponse> {
          const { agentId, events } = c.params;
          // One signature covers the whole batch. The refusal and the answer are signed for the sender.
          const to = c.nodeID ?? `agent-${agentId}`;
          await ctx.identities.verify('report', agentId, c.params, c.nodeID).catch((err: unknown) => {
            throw ctx.identities.signRefusal(err, to, c.params.auth?.nonce);
          });
          const { changed, endedJobs, stale, retrying, actions, requeued } = await applyAgentEvents(
            ctx.db,
            agentId,
            events,
            (ids) => ctx.jobs.retryPolicies(ids),
            (ids) => ctx.jobs.actionTriggers(ids),
          );
          if (actions > 0) ctx.actions.poke();
          if (requeued.length > 0) {
            await ctx.queue.enqueue(requeued);
            ctx.broker.broadcast(EVENTS.queueReady, {});
          }
          // The scheduler (on the leader) promotes retries when they are due: tell it there are new ones.
          if (retrying > 0) ctx.broker.broadcast(SCHEDULE_CHANGED_EVENT, {});
          if (stale.length > 0) {
            ctx.log.warn({ agentId, runs: stale.map((s) => s.runId) }, 'fenced messages about attempts this agent no longer holds');
            await auditUnassignedResults(ctx, agentId, c.nodeID, events, stale);
          }
          if (changed.size > 0) {
            ctx.metrics.runsEnded(changed.values());
            // An attempt's end was applied when its run changed state in this batch.
            for (const e of events) if (e.kind === 'finished' && changed.has(e.runId)) ctx.metrics.attemptEnded(e.outcome, e.durationMs);
            onChange(changed, endedJobs);
          }
          return ctx.identities.signAnswer<ReportResponse>('report-answer', to, { stale }, c.params.auth?.nonce);
        },
      },
    },
  };
}

/**
 * Of the fenced results, those for attempts the sender was never given (another agent's run, or
 * a token never offered) are audited: a late result of an attempt taken back is merely stale.
 */
async function auditUnassignedResults(
  ctx: CoordinatorContext,
  agentId: string,
  nodeId: string | null | undefined,
  events: ReportRequest['events'],
  stale: ReportResponse['stale'],
): Promise<void> {
  const staleKeys = new Set(stale.map((s) => `${s.runId}:${s.token}`));
  const results = events.filter((e) => e.kind === 'finished' && staleKeys.has(`${e.runId}:${e.token}`));
  if (results.length === 0) return;
  const assignees = await assigneesOf(ctx.db, results);
  const unassigned = results
    .map((r) => ({ runId: r.runId, token: r.token, who: assignees.get(`${r.runId}:${r.token}`) }))
    .filter((r) => r.who?.agentId !== agentId)
    .map((r) => ({ runId: r.runId, token: r.token, assignedTo: r.who?.agentId ?? r.who?.currentAgentId ?? null }));
  await ctx.identities.auditUnassigned(agentId, nodeId, unassigned);
}
