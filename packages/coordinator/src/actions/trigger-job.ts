// The `trigger_job` action: start another job with parameters rendered from the run that
// fired. The run is created as the API creates runs, with an idempotency key named after the
// action run, so a try repeated after a crash or a lost answer finds its run instead of
// starting a second one.
import { DEFAULT_NAMESPACE, renderTemplate, type TemplateContext, type TriggerJobActionSchema } from '@drover/shared';
import type { Static } from '@sinclair/typebox';
import { enqueueRuns } from '../ops/enqueue.js';
import { parameterErrors } from '../ops/trigger.js';
import { actionSource } from '../store/action-runs.js';
import { findJobs, jobNamespace } from '../store/jobs.js';
import { getRunByIdempotencyKey } from '../store/query-runs.js';
import type { ActionExecutor } from './executor.js';

type TriggerJobSpec = Static<typeof TriggerJobActionSchema>;

/** Each parameter value with `{{ param.X }}`, `{{ run.id }}`, `{{ job.id }}`… filled in from the source run. */
export function renderParameters(parameters: Record<string, string> | undefined, source: TemplateContext): Record<string, string> {
  return Object.fromEntries(Object.entries(parameters ?? {}).map(([k, v]) => [k, renderTemplate(v, source)]));
}

/** The idempotency key of the run an action run starts: one run per action run, however many tries. */
export const actionIdempotencyKey = (actionId: number): string => `drover-action-${actionId}`;

export const runTriggerJob: ActionExecutor = async (action, env) => {
  const spec = action.spec as TriggerJobSpec;
  const { ctx } = env;
  // Only a job of the source job's namespace: an action must not reach into another team's jobs.
  const namespace = (await jobNamespace(ctx.db, action.jobId)) ?? DEFAULT_NAMESPACE;
  const [job] = await findJobs(ctx.db, spec.job, [namespace], 1);
  if (!job)
    return { ok: false, permanent: true, error: `no job with id or name ${JSON.stringify(spec.job)} in namespace ${namespace} to trigger` };
  const { run: source, jobName } = await actionSource(ctx.db, action.runId, action.jobId);
  if (!source) return { ok: false, permanent: true, error: `run ${action.runId} no longer exists` };
  const parameters = renderParameters(spec.parameters, {
    parameters: source.parameters,
    runId: source.id,
    jobId: action.jobId,
    jobName,
    attempt: action.attempt,
  });
  // As a trigger through the API would be refused: retrying cannot supply what is missing.
  const missing = parameterErrors(job, parameters);
  if (missing.length > 0)
    return {
      ok: false,
      permanent: true,
      error: `job ${job.name} cannot start: ${missing.map((e) => `${e.field} ${e.message}`).join('; ')}`,
    };
  const key = actionIdempotencyKey(action.id);
  const [created] = await enqueueRuns(ctx, [{ job, parameters, trigger: 'action', idempotencyKey: key }]);
  const runId = created?.id ?? (await getRunByIdempotencyKey(ctx.db, job.id, key))?.id;
  if (!runId) return { ok: false, error: `the run of job ${job.name} was neither created nor found` };
  return { ok: true, result: { runId, jobId: job.id } };
};
