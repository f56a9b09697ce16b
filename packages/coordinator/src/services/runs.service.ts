// Moleculer service `drover.runs`: agents report run events here, in batches.
import type { Context, ServiceSchema } from 'moleculer';
import { REPORT_REJECTED, SERVICES, type RejectedEvent, type ReportRequest, type ReportResponse } from '@drover/shared';
import type { CoordinatorContext } from '../context.js';
import { applyAgentEvents } from '../store/apply-events.js';
import { applyIsolating, isDataError } from '../store/isolate-events.js';
import { recordRejectedEvents } from '../store/rejected-events.js';
import { assigneesOf } from '../store/agent-identity.js';
import { AgentRefusal } from '../security/agent-identities.js';
import { toBusError } from './bus-errors.js';

/** Told about every applied batch: the runs that changed, and the jobs whose runs ended. */
export type RunChangeListener = (changed: Map<string, string>, endedJobs: Set<string>) => void;

/** A report that cannot be applied even event by event: retrying it cannot help (code 422, see the protocol). */
function reportRejected(message: string): AgentRefusal {
  return new AgentRefusal(message, 422, REPORT_REJECTED);
}

/**
 * The runs service: applies each report as one fenced batch and tells the agent what to stop.
 * Events it cannot apply are set apart, recorded on their runs and counted, and the rest of the
 * report is applied (store/isolate-events.ts): one bad event never blocks its agent's reports.
 */
export function runsService(ctx: CoordinatorContext, onChange: RunChangeListener): ServiceSchema {
  return {
    name: SERVICES.runs,
    actions: {
      report: {
        async handler(c: Context<ReportRequest>): Promise<ReportResponse> {
          const { agentId, events: reported } = c.params;
          // One signature covers the whole batch. The refusal and the answer are signed for the sender.
          const to = c.nodeID ?? `agent-${agentId}`;
          const refuse = (err: unknown) => toBusError(ctx.identities.signRefusal(err, to, c.params.auth?.nonce));
          if (typeof agentId !== 'string' || !Array.isArray(reported))
            throw refuse(
              reportRejected('a report is { agentId: string, events: [...] }: this one cannot be read, so it cannot be applied'),
            );
          await ctx.identities.verify('report', agentId, c.params, c.nodeID).catch((err: unknown) => {
            throw refuse(err);
          });
          const apply = (part: ReportRequest['events']) =>
            applyAgentEvents(
              ctx.db,
              agentId,
              part,
              (ids) => ctx.jobs.retryPolicies(ids),
              (ids) => ctx.jobs.actionTriggers(ids),
            );
          const { changed, endedJobs, stale, retrying, actions, requeued, events, rejected } = await applyIsolating(
            apply,
            reported,
            ctx.now,
          );
          if (rejected.length > 0)
            await recordRejections(ctx, agentId, rejected).catch((err: unknown) => {
              throw isDataError(err) ? refuse(reportRejected(`its rejected events could not be recorded: ${(err as Error).message}`)) : err;
            });
          if (actions > 0) ctx.actions.poke();
          if (requeued.length > 0) {
            await ctx.queue.enqueue(requeued);
            ctx.signals.queueReady();
          }
          // The scheduler (on the leader) promotes retries when they are due: tell it there are new ones.
          if (retrying > 0) ctx.signals.scheduleChanged();
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
          const answer: ReportResponse = rejected.length > 0 ? { stale, rejected } : { stale };
          return ctx.identities.signAnswer<ReportResponse>('report-answer', to, answer, c.params.auth?.nonce);
        },
      },
    },
  };
}

/** Records events set apart on their runs, counts them and says so in the coordinator's log. */
async function recordRejections(ctx: CoordinatorContext, agentId: string, rejected: RejectedEvent[]): Promise<void> {
  await recordRejectedEvents(ctx.db, agentId, rejected);
  for (const r of rejected) ctx.metrics.reportEventRejected(r.kind);
  ctx.log.warn(
    { agentId, rejected: rejected.map((r) => ({ runId: r.runId, token: r.token, kind: r.kind, seq: r.seq, reason: r.reason })) },
    'report events this coordinator could not apply were set apart and recorded on their runs (GET /v1/runs/{id} rejectedEvents); the rest of the report was applied',
  );
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
