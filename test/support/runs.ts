// What tests do with jobs and runs through the REST API: create a job, trigger it, wait for a
// run to reach a state, read its logs. One place, so each test file states only its scenario.
import { readFileSync } from 'node:fs';
import type { Attempt, Job, LogChunk, Problem, RunDetail } from '@drover/client';
import { isTerminal, RUN_STATES } from '@drover/shared';
import { expect } from 'vitest';
import { waitFor, type ApiClient, type RequestOptions } from './http.js';

// The API's types come from the generated client (packages/client/src/schema.ts), so a test reads
// what the OpenAPI document promises, not a hand-copied subset of it.
/** A run as GET /v1/runs/{id} returns it, with its attempts and transitions. */
export type Run = RunDetail;
export type { Attempt, Job, LogChunk, Problem };

/** A chunk's bytes, as printed. */
export function chunkBytes(chunk: LogChunk): Buffer {
  return Buffer.from(chunk.data, chunk.encoding === 'base64' ? 'base64' : 'utf8');
}

/** The run states that never change again: derived from @drover/shared, so none can be missing. */
export const TERMINAL: readonly string[] = RUN_STATES.filter(isTerminal);

/** Whether a run in `state` is over (a string, as tests read states from the API or the database). */
export function isTerminalState(state: string): boolean {
  return TERMINAL.includes(state);
}

/** An ApiClient that forwards each call to `current()`, so it can be made before the real client exists. */
export function lazyClient(current: () => ApiClient): ApiClient {
  return {
    get baseUrl() {
      return current().baseUrl;
    },
    request: <T>(method: string, path: string, body?: unknown, options?: RequestOptions) =>
      current().request<T>(method, path, body, options),
    get: <T>(path: string, options?: RequestOptions) => current().get<T>(path, options),
    post: <T>(path: string, body?: unknown, options?: RequestOptions) => current().post<T>(path, body, options),
    patch: <T>(path: string, body?: unknown, options?: RequestOptions) => current().patch<T>(path, body, options),
    del: <T>(path: string, options?: RequestOptions) => current().del<T>(path, options),
  };
}

/**
 * Job and run helpers bound to one API client, or to a function returning it (for a file whose
 * client is made in beforeAll: `const { createJob } = runHelpers(() => client)`).
 */
export function runHelpers(clientOrGetter: ApiClient | (() => ApiClient)) {
  const client = typeof clientOrGetter === 'function' ? lazyClient(clientOrGetter) : clientOrGetter;
  const getRun = async (id: string): Promise<Run> => (await client.get<Run>(`/v1/runs/${id}`)).body;
  const allLogs = async (id: string): Promise<LogChunk[]> => {
    const out: LogChunk[] = [];
    let cursor = '';
    for (;;) {
      const page = (
        await client.get<{ items: LogChunk[]; nextCursor: string | null }>(
          `/v1/runs/${id}/logs?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        )
      ).body;
      out.push(...page.items);
      if (page.items.length < 1000 || !page.nextCursor) return out;
      cursor = page.nextCursor;
    }
  };
  /** The run once `until` holds (default: it reached a terminal state). */
  const waitForRun = (id: string, until: (r: Run) => boolean = (r) => isTerminalState(r.state), timeoutMs = 30_000): Promise<Run> =>
    waitFor(
      async () => {
        const r = await getRun(id);
        return until(r) ? r : undefined;
      },
      { timeoutMs, description: `run ${id} to reach the expected state` },
    );
  /** Creates a job (expecting 201) and returns it as the API does. */
  const postJob = async (def: Record<string, unknown>): Promise<Job> => {
    const res = await client.post<Job>('/v1/jobs', def);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };
  return {
    getRun,
    allLogs,
    createJob: async (def: Record<string, unknown>): Promise<string> => (await postJob(def)).id,
    postJob,
    async trigger(jobId: string, parameters?: Record<string, string>): Promise<string> {
      const res = await client.post<{ id: string }>(`/v1/jobs/${jobId}/runs`, parameters ? { parameters } : {});
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id;
    },
    waitForRun,
    /** The run once it reached a terminal state. */
    waitForTerminal: (id: string, timeoutMs = 30_000): Promise<Run> => waitForRun(id, (r) => isTerminalState(r.state), timeoutMs),
    /** The run's output of one stream (or both, interleaved), from the JSON chunks. */
    async outputBytes(id: string, stream?: 'stdout' | 'stderr'): Promise<Buffer> {
      const chunks = await allLogs(id);
      return Buffer.concat(chunks.filter((c) => stream === undefined || c.stream === stream).map(chunkBytes));
    },
    /** The run's output as GET /v1/runs/{id}/logs?format=raw answers it: the bytes as printed. */
    async rawOutput(id: string, query = 'format=raw', headers: Record<string, string> = {}): Promise<Buffer> {
      const res = await fetch(`${client.baseUrl}/v1/runs/${id}/logs?${query}`, { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      return Buffer.from(await res.arrayBuffer());
    },
  };
}

/**
 * Whether a process is gone: kill(pid, 0) fails with ESRCH, or the process is a zombie. An
 * orphaned child's zombie is reaped by init, which on some hosts (a container whose init does
 * not reap) never happens; a zombie runs nothing and holds nothing.
 */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
