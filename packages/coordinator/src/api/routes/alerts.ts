// /v1/alerts: fleet health in one answer, for the dashboard's banner and for anyone polling.
import { Type } from '@sinclair/typebox';
import { parseDuration } from '@drover/shared';
import { invalidInput } from '../../domain-error.js';
import { fleetAlerts } from '../../store/fleet-alerts.js';
import { jobIdsInNamespaces } from '../../store/jobs.js';
import { defineOperation, type AnyOperation } from '../operation.js';

const Iso = Type.String({ format: 'date-time' });
const NullableString = Type.Union([Type.String(), Type.Null()]);

const AlertsSchema = Type.Object(
  {
    agentsDown: Type.Array(
      Type.Object({ id: Type.String(), name: Type.String(), lastHeartbeatAt: Iso, downSince: Type.Union([Iso, Type.Null()]) }),
      {
        description: 'Agents whose heartbeats stopped, longest silent first.',
      },
    ),
    runsLost: Type.Object(
      {
        since: Iso,
        count: Type.Integer({ description: 'Attempts lost with their agent since `since`.' }),
        recent: Type.Array(
          Type.Object({ runId: Type.String(), jobId: Type.String(), jobName: NullableString, agentId: NullableString, at: Iso }),
          { description: 'The most recent of them (at most 10), newest first.' },
        ),
      },
      { description: 'Runs lost with their agent.' },
    ),
    unplaceable: Type.Array(
      Type.Object({
        jobId: Type.String(),
        jobName: NullableString,
        reason: Type.String({ description: 'Why no agent can take them, e.g. "no agent matches label.region = eu".' }),
        queued: Type.Integer(),
        oldestQueuedAt: Type.Union([Iso, Type.Null()]),
      }),
      { description: 'Queued runs waiting for a capability no agent has, per job and reason (at most 100 groups).' },
    ),
  },
  { $id: 'FleetAlerts' },
);

const listAlerts = defineOperation({
  operationId: 'listAlerts',
  method: 'GET',
  path: '/v1/alerts',
  summary: 'Fleet health alerts: agents down, runs lost recently, queued runs no agent can take',
  tags: ['agents'],
  access: 'read',
  query: Type.Object(
    { since: Type.Optional(Type.String({ description: 'How far back lost runs count, e.g. "1h" (the default).' })) },
    { additionalProperties: false },
  ),
  responses: { 200: AlertsSchema },
  errors: ['VALIDATION_FAILED'],
  handler: async ({ query: { since } }, caller, ctx) => {
    const back = since === undefined ? 3_600_000 : parseDuration(since);
    if (back === undefined) throw invalidInput([{ field: 'since', message: `"${since}" is not a duration; use e.g. "15m", "1h"` }]);
    const alerts = await fleetAlerts(ctx.db, ctx.now() - back);
    const scope = caller.principal.namespaces;
    if (scope === 'all') return { status: 200, body: alerts };
    // Agents are cluster-wide; the runs and jobs named here are shown to their namespaces only.
    const jobIds = [...new Set([...alerts.runsLost.recent.map((r) => r.jobId), ...alerts.unplaceable.map((u) => u.jobId)])];
    const visible = jobIds.length === 0 || scope.length === 0 ? new Set<string>() : await jobIdsInNamespaces(ctx.db, jobIds, scope);
    return {
      status: 200,
      body: {
        ...alerts,
        runsLost: { ...alerts.runsLost, recent: alerts.runsLost.recent.filter((r) => visible.has(r.jobId)) },
        unplaceable: alerts.unplaceable.filter((u) => visible.has(u.jobId)),
      },
    };
  },
});

export const alertOperations: readonly AnyOperation[] = [listAlerts];
