/** Small typed HTTP helpers for the REST API, and a polling helper. */

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON for `application/json` and `application/problem+json`, text otherwise, undefined when empty. */
  readonly body: T;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** A bearer token for this request only (overrides the client's). */
  token?: string;
  signal?: AbortSignal;
}

export interface ApiClient {
  readonly baseUrl: string;
  request<T = unknown>(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<ApiResponse<T>>;
  get<T = unknown>(path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  post<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<ApiResponse<T>>;
  patch<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<ApiResponse<T>>;
  del<T = unknown>(path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
}

/**
 * A client for `baseUrl` (e.g. the coordinator's `url`); paths start with `/`. Never throws on
 * 4xx/5xx. `token` is sent as `Authorization: Bearer` on every request.
 */
export function api(baseUrl: string, clientOptions: { token?: string } = {}): ApiClient {
  const base = baseUrl.replace(/\/$/, '');
  const request = async <T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<ApiResponse<T>> => {
    const token = options.token ?? clientOptions.token;
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...options.headers,
    };
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers['content-type'] ??= 'application/json';
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    if (options.signal) init.signal = options.signal;
    const res = await fetch(`${base}${path}`, init);
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    let parsed: unknown = text === '' ? undefined : text;
    if (text !== '' && /\bjson\b|\+json\b/.test(type)) {
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new Error(`${method} ${path}: ${res.status} with invalid JSON body: ${text.slice(0, 500)}`, { cause: err });
      }
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  };
  return {
    baseUrl: base,
    request,
    get: (path, options) => request('GET', path, undefined, options),
    post: (path, body, options) => request('POST', path, body, options),
    patch: (path, body, options) => request('PATCH', path, body, options),
    del: (path, options) => request('DELETE', path, undefined, options),
  };
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface WaitForOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between calls (default 100 ms). */
  intervalMs?: number;
  /** Says what was awaited, in the timeout error. */
  description?: string;
}

/**
 * Calls fn until it returns something other than undefined, and returns that. Errors thrown by
 * fn propagate at once. On timeout the error names the description.
 */
export async function waitFor<T>(fn: () => T | undefined | Promise<T | undefined>, options: WaitForOptions = {}): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 100, description = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`waitFor: ${description} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
