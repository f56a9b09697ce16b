// The typed client: openapi-fetch over the generated `paths`, with the bearer token and
// connection failures turned into DroverConnectionError.
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema.js';
import { DroverApiError, DroverConnectionError, isAbort } from './errors.js';

/** A client of one coordinator: `client.GET('/v1/jobs/{id}', { params: { path: { id } } })`. */
export type DroverClient = Client<paths>;

export interface DroverClientOptions {
  /** The coordinator's API, e.g. `http://127.0.0.1:7400`. */
  baseUrl: string;
  /** Sent as `authorization: Bearer <token>` when set. */
  token?: string;
  /** A fetch implementation (tests, proxies); the global fetch by default. */
  fetch?: typeof globalThis.fetch;
}

/** Creates a typed client of the Drover REST API. */
export function createDroverClient(options: DroverClientOptions): DroverClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const inner = options.fetch ?? globalThis.fetch;
  // Wrapping fetch (rather than an onError middleware) also covers log streams, whose body is
  // read after the request has returned.
  const fetch: typeof globalThis.fetch = async (input, init) => {
    try {
      return await inner(input, init);
    } catch (err) {
      if (isAbort(err)) throw err;
      throw new DroverConnectionError(baseUrl, err);
    }
  };
  return createClient<paths>({
    baseUrl,
    fetch,
    ...(options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {}),
  });
}

/** What every client method resolves to: the parsed body, or the parsed error body. */
export interface ClientResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful request, or a DroverApiError carrying the problem the API sent. */
export function ok<T>(result: ClientResult<T>): T {
  if (result.error !== undefined || !result.response.ok) throw DroverApiError.fromResponse(result.response, result.error);
  return result.data as T;
}
