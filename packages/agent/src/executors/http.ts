// The http executor: one request from the agent's host. Succeeds on the expected status
// (default any 2xx); the response body goes to the stdout log, capped.
import type { ExecutorSpec } from '@drover/shared';
import { failedResult, renderedSpec, type AttemptResult, type Executor, type StopReason } from './executor.js';

type HttpSpec = Extract<ExecutorSpec, { type: 'http' }>;

/** How much of a response body is logged. */
export const HTTP_BODY_LOG_LIMIT = 1024 * 1024;

export interface HttpExecutorOptions {
  /** Bytes of response body copied to the log; default 1 MiB. */
  bodyLogLimit?: number;
}

function statusExpected(status: number, expected: HttpSpec['expectedStatus']): boolean {
  if (expected === undefined) return status >= 200 && status < 300;
  return Array.isArray(expected) ? expected.includes(status) : status === expected;
}

function describeExpected(expected: HttpSpec['expectedStatus']): string {
  if (expected === undefined) return '2xx';
  return Array.isArray(expected) ? expected.join(' or ') : String(expected);
}

function requestBody(spec: HttpSpec, headers: Headers): string | undefined {
  if (spec.body === undefined) return undefined;
  if (typeof spec.body === 'string') return spec.body;
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  return JSON.stringify(spec.body);
}

function networkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  return detail ? `${(err as Error).message}: ${detail}` : (err as Error).message;
}

/** Creates the http executor. */
export function httpExecutor(options: HttpExecutorOptions = {}): Executor<HttpSpec> {
  const limit = options.bodyLogLimit ?? HTTP_BODY_LOG_LIMIT;
  return {
    type: 'http',
    start(offer, io) {
      const spec = renderedSpec(offer);
      const abort = new AbortController();
      let stopReason: StopReason | undefined;
      // Kept outside run() so an attempt stopped while reading the body still reports the status it got.
      let httpStatus: number | null = null;
      const run = async (): Promise<AttemptResult> => {
        const headers = new Headers(spec.headers);
        const method = spec.method ?? 'GET';
        const body = requestBody(spec, headers);
        io.started(Date.now());
        const res = await fetch(spec.url, { method, headers, body, signal: abort.signal, redirect: 'follow' });
        httpStatus = res.status;
        let logged = 0;
        if (res.body) {
          for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
            const room = limit - logged;
            if (room > 0) io.output('stdout', Buffer.from(chunk.subarray(0, room)));
            logged += chunk.byteLength;
            if (logged > limit) {
              io.output('stdout', `\n[drover: response body truncated after ${limit} bytes]\n`);
              await res.body.cancel().catch(() => undefined);
              break;
            }
          }
        }
        const base = { exitCode: null, signal: null, cpuTimeMs: null, peakMemoryBytes: null, httpStatus };
        if (statusExpected(res.status, spec.expectedStatus)) return { ...base, outcome: 'succeeded', error: null };
        return {
          ...base,
          outcome: 'failed',
          error: `${method} ${spec.url} answered ${[res.status, res.statusText].filter(Boolean).join(' ')} (expected ${describeExpected(spec.expectedStatus)})`,
        };
      };
      const result = run().catch((err: unknown) => ({
        ...(stopReason
          ? failedResult(stopReason.message, stopReason.outcome)
          : failedResult(`${spec.method ?? 'GET'} ${spec.url} failed: ${networkError(err)}`)),
        httpStatus,
      }));
      return {
        result,
        stop(reason) {
          if (stopReason) return;
          stopReason = reason;
          abort.abort();
        },
      };
    },
  };
}
