// The shapes the dashboard reads, derived from @drover/client's types, which are generated from
// the coordinator's OpenAPI document: a field renamed or removed there is a type error here, at
// `npm run build`. Type-only imports: esbuild strips them, nothing of the client is bundled.
import type { components, paths } from '@drover/client';

export type { Problem } from '@drover/client';

type Schemas = components['schemas'];

/** The HTTP methods the dashboard uses. */
export type Method = 'get' | 'post' | 'patch' | 'delete';
/** The API paths that have this method. */
export type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P] extends { [K in M]: { responses: unknown } } ? P : never;
}[keyof paths];
/** The operation at a path and method. */
export type Operation<P extends keyof paths, M extends Method> = paths[P] extends { [K in M]: infer O } ? O : never;

type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Declared<O> = O extends { responses: infer R } ? JsonOf<R[Extract<keyof R, 200 | 201 | 202>]> : never;

/** The JSON body of a successful call. */
export type Success<P extends keyof paths, M extends Method> = [Declared<Operation<P, M>>] extends [never]
  ? unknown
  : Declared<Operation<P, M>>;

type ParamsOf<O> = O extends { parameters: infer X } ? X : never;
/** The `{id}`s of a path. */
export type PathParams<O> = ParamsOf<O> extends { path: infer X } ? X : never;
/** The query parameters an operation takes. */
export type Query<O> = ParamsOf<O> extends { query?: infer Q } ? Q : never;
/** The JSON body an operation takes. */
export type Body<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** The fleet's agents, one page of them: each with the runs it holds. */
export type AgentPage = Success<'/v1/agents', 'get'>;
export type Agent = AgentPage['items'][number];
export type FleetSummary = Success<'/v1/fleet', 'get'>;
export type Alerts = Success<'/v1/alerts', 'get'>;
export type Job = Schemas['Job'];
export type JobPage = Success<'/v1/jobs', 'get'>;
export type JobSummary = Schemas['JobSummary'];
export type SchedulePreview = Success<'/v1/jobs/{id}/schedule', 'get'>;
export type Run = Schemas['Run'];
export type RunState = Run['state'];
export type RunPage = Success<'/v1/runs', 'get'>;
export type RunDetail = Success<'/v1/runs/{id}', 'get'>;
export type Attempt = Schemas['Attempt'];
export type Transition = RunDetail['transitions'][number];
export type LogChunk = Success<'/v1/runs/{id}/logs', 'get'>['items'][number];
export type DeadLetter = Schemas['DeadLetter'];
export type DeadLetterPage = Success<'/v1/dead-letters', 'get'>;

export type AgentMetrics = Success<'/v1/agents/{id}/metrics', 'get'>;
/** One minute of an agent's heartbeat history. */
export type AgentMetricPoint = AgentMetrics['points'][number];
export type SchedulerStats = Success<'/v1/scheduler/stats', 'get'>;
export type LatencySummary = SchedulerStats['dueToQueued'];
