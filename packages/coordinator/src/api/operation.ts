// One definition per API operation: what it is called, who may call it, what it takes and
// answers, which coded errors it raises, and the domain call that does it. Transports serve
// the definitions: REST registers each on fastify (rest-operations.ts) and generates the
// OpenAPI document from them; the NATS API (issue 18) will serve the same list on
// `<cluster>.api.v1.<operationId>`. A handler knows no transport: it gets typed input and
// the caller, raises DomainError (../domain-error.ts) by code, and returns a status and a body.
//
// How to define an operation (api/routes/runs.ts is the worked example):
//   export const getRun = defineOperation({
//     operationId: 'getRun',             // public and stable: clients and NATS subjects use it
//     method: 'GET',
//     path: '/v1/runs/{id}',             // OpenAPI form; REST turns {id} into :id
//     summary: 'Get a run…', tags: ['runs'],
//     access: 'read',                    // api/access.ts; audit defaults to "it changes something" (POST, PUT, PATCH, DELETE)
//     params: Type.Object({ id: Type.String() }),   // and/or query, headers, body: TypeBox schemas
//     responses: { 200: RunSchema },     // success statuses and their bodies
//     errors: ['NOT_FOUND'],             // codes the domain call raises; each one's status is documented as a problem
//     handler: async ({ params }, caller, ctx) => ({ status: 200, body: await visibleRun(ctx.db, params.id, caller) }),
//   });
// then list it in the file's `…Operations` array, which server.ts registers. Input arrives
// validated and typed from its schemas (no `as` casts); `caller.audit` takes the namespace,
// target or detail the audit record should carry. Errors from around the operation (400 for
// a bad field, 401/403, 429, 503, 404/414 on path parameters, 413/415 on bodies) are added to
// the document by rule (openapi-document.ts): list only the codes of the operation's own logic.
// Keep REST-only what only HTTP can do (streams, Prometheus text, static files) as plain
// fastify routes, with a comment saying why.
import type { Static, TSchema } from '@sinclair/typebox';
import type { CoordinatorContext } from '../context.js';
import type { ErrorCode } from '../domain-error.js';
import type { Access, Principal } from './access.js';
import type { RequestAudit } from './auth.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const CHANGES = new Set<Method>(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Who calls an operation, whichever transport carried the call. */
export interface Caller {
  readonly principal: Principal;
  /** What the call's audit record adds (namespace, target, detail); the operation fills it in. */
  readonly audit: RequestAudit;
  /** The operation's method: a `GET` only reads (admins' reads skip a namespace look-up, require.ts). */
  readonly method: string;
  /** Where the call came from, for the audit log: the HTTP client's address. */
  readonly ip: string | null;
}

/** Success statuses and the schema of each one's body. */
export type Responses = Readonly<Record<number, TSchema>>;

/** What an operation answers: one of its declared statuses with that status's body. */
export type OperationResult<R extends Responses> = {
  [S in keyof R & number]: { status: S; body: Static<R[S]>; headers?: Readonly<Record<string, string>> };
}[keyof R & number];

type Input<S, Otherwise> = S extends TSchema ? Static<S> : Otherwise;

/** An operation's input, each part validated against (and typed by) its schema. */
export interface OperationInput<P, Q, H, B> {
  params: Input<P, Record<string, never>>;
  query: Input<Q, Record<string, never>>;
  headers: Input<H, Record<string, string | string[] | undefined>>;
  body: Input<B, undefined>;
}

/** The definition of one operation (see the top of this file). */
export interface OperationSpec<
  P extends TSchema | undefined,
  Q extends TSchema | undefined,
  H extends TSchema | undefined,
  B extends TSchema | undefined,
  R extends Responses,
> {
  /** The stable public name (OpenAPI operationId, NATS subject); never changes once released. */
  readonly operationId: string;
  readonly method: Method;
  /** The REST path in OpenAPI form (`/v1/runs/{id}`). */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly access: Access;
  /** Whether every call is written to the audit log; by default when it can change something (not a GET). */
  readonly audit?: boolean;
  readonly params?: P;
  readonly query?: Q;
  readonly headers?: H;
  readonly body?: B;
  /** The body of a call that sends none (a trigger without parameters needs no body at all). */
  readonly bodyDefault?: Input<B, never>;
  /**
   * The handler checks the body itself (with a shared validator that names the offending field
   * its own way); the schema then only documents it, and the handler must treat it as unknown.
   */
  readonly bodyCheckedByHandler?: boolean;
  /** The largest body accepted, in bytes, when more than the API's default. */
  readonly bodyLimit?: number;
  readonly responses: R;
  /** The codes the domain call may raise (their statuses go into the document as problems). */
  readonly errors: readonly ErrorCode[];
  readonly handler: (input: OperationInput<P, Q, H, B>, caller: Caller, ctx: CoordinatorContext) => Promise<OperationResult<NoInfer<R>>>;
}

/** A defined operation: its spec, with the audit decision made. */
export type Operation<
  P extends TSchema | undefined = TSchema | undefined,
  Q extends TSchema | undefined = TSchema | undefined,
  H extends TSchema | undefined = TSchema | undefined,
  B extends TSchema | undefined = TSchema | undefined,
  R extends Responses = Responses,
> = OperationSpec<P, Q, H, B, R> & { readonly audit: boolean };

/** An operation of any input and output, as transports hold them in lists. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the handler's input is checked where it is defined
export type AnyOperation = Operation<any, any, any, any, any>;

/** Defines an operation; its handler's input and output are typed by the schemas it declares. */
export function defineOperation<
  P extends TSchema | undefined = undefined,
  Q extends TSchema | undefined = undefined,
  H extends TSchema | undefined = undefined,
  B extends TSchema | undefined = undefined,
  R extends Responses = Responses,
>(spec: OperationSpec<P, Q, H, B, R>): Operation<P, Q, H, B, R> {
  return Object.freeze({ ...spec, audit: spec.audit ?? CHANGES.has(spec.method) });
}
