// /v1/runs/{id}/actions and /v1/actions: what the actions fired by run events did, for a run
// and across runs (operators looking for failed or stuck actions).
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ActionState } from '@drover/shared';
import type { CoordinatorContext } from '../../context.js';
import { listActions, listRunActions } from '../../store/action-runs.js';
import { stateList } from '../query.js';
import { badRequest } from '../problem.js';
import { findJobIn, visibleRun, scopeOf } from '../require.js';
import { ProblemSchema, pageOf } from '../schemas.js';

const ACTION_STATES: readonly ActionState[] = ['pending', 'succeeded', 'failed'];
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const ActionRunSchema = Type.Object(
  {
    id: Type.String(),
    runId: Type.String({ description: 'The run whose event fired the action.' }),
    jobId: Type.String(),
    attempt: Type.Integer({ description: 'The attempt of the run the event belongs to.' }),
    trigger: Type.String({ description: 'on_success, on_failure, on_timeout, on_violation, on_lost or on_dead_letter.' }),
    actionIndex: Type.Integer({ description: "Position in the job's actions." }),
    type: Type.String({ description: 'webhook, trigger_job or skip_next.' }),
    spec: Type.Record(Type.String(), Type.Unknown(), {
      description: 'The action as the job defined it when it fired; webhook header values are hidden.',
    }),
    state: Type.Union(ACTION_STATES.map((s) => Type.Literal(s))),
    tries: Type.Integer({ description: 'Tries so far (a try in progress counts).' }),
    nextAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When a pending action is tried next (during a try: when its lease ends).',
    }),
    lastError: NullableString,
    lastStatus: Type.Union([Type.Integer(), Type.Null()], { description: 'The HTTP status of the last webhook try.' }),
    result: Type.Unknown({ description: 'What a succeeded action did: { runId, jobId } for trigger_job, the mark for skip_next.' }),
    createdAt: Type.String({ format: 'date-time', description: 'When the event fired it.' }),
    finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { $id: 'ActionRun' },
);

export async function actionRoutes(app: FastifyInstance, ctx: CoordinatorContext): Promise<void> {
  app.get(
    '/v1/runs/:id/actions',
    {
      config: { access: 'read' },
      schema: {
        summary: "The actions a run's events fired, with their state, tries and outcome",
        tags: ['actions'],
        params: Type.Object({ id: Type.String() }),
        response: { 200: Type.Object({ items: Type.Array(ActionRunSchema) }), 404: ProblemSchema },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      await visibleRun(ctx.db, id, req);
      return { items: await listRunActions(ctx.db, id) };
    },
  );

  app.get(
    '/v1/actions',
    {
      config: { access: 'read' },
      schema: {
        summary: 'List action runs across runs, newest first (e.g. ?state=failed)',
        tags: ['actions'],
        querystring: Type.Object(
          {
            state: Type.Optional(Type.String({ description: `One or more states, comma-separated: ${ACTION_STATES.join(', ')}.` })),
            job: Type.Optional(Type.String({ description: 'Job id or name: actions fired by its runs.' })),
            namespace: Type.Optional(Type.String({ description: 'Only actions of jobs in this namespace.' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            cursor: Type.Optional(Type.String({ description: 'nextCursor of the previous page.' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(ActionRunSchema), 400: ProblemSchema },
      },
    },
    async (req) => {
      const q = req.query as { state?: string; job?: string; namespace?: string; limit?: number; cursor?: string };
      const namespaces = scopeOf(req, q.namespace);
      const states = stateList(q.state, ACTION_STATES, 'state');
      if (q.cursor !== undefined && !/^[1-9][0-9]{0,15}$/.test(q.cursor))
        throw badRequest([{ field: 'cursor', message: 'is not a cursor returned by this endpoint (nextCursor)' }]);
      let jobId: string | undefined;
      if (q.job) {
        const job = await findJobIn(ctx.db, q.job, namespaces);
        if (!job) throw badRequest([{ field: 'job', message: `no job with id or name ${JSON.stringify(q.job)}` }]);
        jobId = job.id;
      }
      const limit = q.limit ?? 100;
      const before = q.cursor === undefined ? undefined : Number(q.cursor);
      const { items, total } = await listActions(ctx.db, { states, jobId, namespaces }, { limit, before });
      return { items, total, nextCursor: items.length === limit ? (items[items.length - 1]?.id ?? null) : null };
    },
  );
}
