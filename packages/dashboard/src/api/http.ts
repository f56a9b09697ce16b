// Calls to the REST API, typed by path from @drover/client's generated `paths`: the path, its
// `{id}`s, query and body are checked at build time, and the answer's type follows from them.
// Every call carries the signed-in token; a 401 asks the reader to sign in (auth.ts).
import { authHeaders, token, tokenRefused } from './auth.js';
import type { Body, Method, Operation, PathParams, PathsWith, Problem, Query, Success } from './types.js';

/** A failed API call, with the problem document when the server sent one. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly problem?: Problem,
  ) {
    super(message);
  }
}

/** What a failure means to the reader: a 403 says the token's role is short, not that something broke. */
export function describeError(err: unknown): string {
  if (isForbidden(err)) return "Your token's role cannot do this.";
  return err instanceof Error ? err.message : String(err);
}

/** A 403: the token is good, its role may not do what was asked (the message says which role would). */
export const isForbidden = (err: unknown): err is ApiError => err instanceof ApiError && err.status === 403;

type Values = Record<string, string | number | boolean | undefined | null>;

/** A query string from the defined, non-empty values. */
export function qs(params: Values | undefined): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** What a call takes besides its path: the path's `{id}`s, a query and a body, each as the API declares them. */
export type CallOptions<O> = ([PathParams<O>] extends [never] ? { path?: undefined } : { path: PathParams<O> }) & {
  query?: Query<O>;
} & ([Body<O>] extends [never] ? { body?: undefined } : { body?: Body<O> });

/** The URL of a path with its `{id}`s filled in (encoded) and a query. */
export function url(path: string, params?: { path?: unknown; query?: unknown }): string {
  const ids = (params?.path ?? {}) as Record<string, string>;
  const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = ids[name];
    if (v === undefined) throw new Error(`no value for {${name}} in ${path}`);
    return encodeURIComponent(v);
  });
  return filled + qs(params?.query as Values | undefined);
}

/** Calls the API on this origin; resolves with the parsed body or rejects with an ApiError. */
async function request(method: Method, path: string, options: { path?: unknown; query?: unknown; body?: unknown }): Promise<unknown> {
  const target = url(path, options);
  const sent = token();
  const init: RequestInit = { method: method.toUpperCase(), headers: { accept: 'application/json', ...authHeaders(sent) } };
  if (options.body !== undefined) {
    init.headers = { ...init.headers, 'content-type': 'application/json' };
    init.body = JSON.stringify(options.body);
  }
  let res: Response;
  try {
    res = await fetch(target, init);
  } catch (err) {
    throw new ApiError(0, `the coordinator did not answer (${(err as Error).message})`);
  }
  const text = await res.text();
  const parsed: unknown = text === '' ? undefined : safeJson(text);
  if (!res.ok) throw failure(res, parsed, `${init.method} ${target}`, sent);
  return parsed;
}

/** The ApiError for a refused call; a 401 also asks for a (new) token than `sent`. */
export function failure(res: Response, body: unknown, what: string, sent: string | undefined): ApiError {
  const problem = isProblem(body) ? body : undefined;
  const err = new ApiError(res.status, problem?.detail ?? `${what} answered ${res.status}`, problem);
  if (res.status === 401) tokenRefused(err.message, sent);
  return err;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isProblem(v: unknown): v is Problem {
  return typeof v === 'object' && v !== null && typeof (v as Problem).detail === 'string';
}

/** The options argument: required when the path has `{id}`s to fill in. */
type Args<O> = [PathParams<O>] extends [never] ? [options?: CallOptions<O>] : [options: CallOptions<O>];

export const get = <P extends PathsWith<'get'>>(path: P, ...[options]: Args<Operation<P, 'get'>>) =>
  request('get', path, options ?? {}) as Promise<Success<P, 'get'>>;
export const post = <P extends PathsWith<'post'>>(path: P, ...[options]: Args<Operation<P, 'post'>>) =>
  request('post', path, options ?? {}) as Promise<Success<P, 'post'>>;
export const patch = <P extends PathsWith<'patch'>>(path: P, ...[options]: Args<Operation<P, 'patch'>>) =>
  request('patch', path, options ?? {}) as Promise<Success<P, 'patch'>>;
export const del = <P extends PathsWith<'delete'>>(path: P, ...[options]: Args<Operation<P, 'delete'>>) =>
  request('delete', path, options ?? {}) as Promise<Success<P, 'delete'>>;
