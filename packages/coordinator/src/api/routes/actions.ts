// /v1/runs/{id}/actions and /v1/actions: what the actions fired by run events did, for a run
// and across runs (operators looking for failed or stuck actions).
import { Type } from '@sinclair/typebox';
import type { ActionState } from '@drover/shared';
import { invalidInput } from '../../domain-error.js';
import { listActions as findActions, listRunActions as findRunActions } from '../../store/action-runs.js';
import { stateList } from '../query.js';
import { defineOperation, type AnyOperation } from '../operation.js';
import { findJobIn, visibleRun, scopeOf } from '../require.js';
import { pageOf } from '../schemas.js';

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

const listRunActions = defineOperation({
  operationId: 'listRunActions',
  method: 'GET',
  path: '/v1/runs/{id}/actions',
  summary: "The actions a run's events fired, with their state, tries and outcome",
  tags: ['actions'],
  access: 'read',
  params: Type.Object({ id: Type.String() }),
  responses: { 200: Type.Object({ items: Type.Array(ActionRunSchema) }) },
  errors: ['NOT_FOUND'],
  handler: async ({ params: { id } }, caller, ctx) => {
    await visibleRun(ctx.db, id, caller);
    return { status: 200, body: { items: await findRunActions(ctx.db, id) } };
  },
});

const listActions = defineOperation({
  operationId: 'listActions',
  method: 'GET',
  path: '/v1/actions',
  summary: 'List action runs across runs, newest first (e.g. ?state=failed)',
  tags: ['actions'],
  access: 'read',
  query: Type.Object(
    {
      state: Type.Optional(Type.String({ description: `One or more states, comma-separated: ${ACTION_STATES.join(', ')}.` })),
      job: Type.Optional(Type.String({ description: 'Job id or name: actions fired by its runs.' })),
      namespace: Type.Optional(Type.String({ description: 'Only actions of jobs in this namespace.' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
      cursor: Type.Optional(Type.String({ description: 'nextCursor of the previous page.' })),
    },
    { additionalProperties: false },
  ),
  responses: { 200: pageOf(ActionRunSchema) },
  errors: ['VALIDATION_FAILED'],
  handler: async ({ query }, caller, ctx) => {
    const namespaces = scopeOf(caller, query.namespace);
    const states = stateList(query.state, ACTION_STATES, 'state');
    if (query.cursor !== undefined && !/^[1-9][0-9]{0,15}$/.test(query.cursor))
      throw invalidInput([{ field: 'cursor', message: 'is not a cursor returned by this endpoint (nextCursor)' }]);
    let jobId: string | undefined;
    if (query.job) {
      const job = await findJobIn(ctx.db, query.job, namespaces);
      if (!job) throw invalidInput([{ field: 'job', message: `no job with id or name ${JSON.stringify(query.job)}` }]);
      jobId = job.id;
    }
    const limit = query.limit ?? 100;
    const before = query.cursor === undefined ? undefined : Number(query.cursor);
    const { items, total } = await findActions(ctx.db, { states, jobId, namespaces }, { limit, before });
    return { status: 200, body: { items, total, nextCursor: items.length === limit ? (items[items.length - 1]?.id ?? null) : null } };
  },
});

/** The action operations, in the order the API registers them. */
export const actionOperations: readonly AnyOperation[] = [listRunActions, listActions];
