// Log following is pushed, not polled: on a real coordinator, agent and PostgreSQL, a followed
// run's lines arrive while it runs and the stream closes when it ends; followers beyond a cap
// get 429; 500 idle followers cost PostgreSQL almost nothing (no query per follower while
// their runs are quiet, the coordinator's connections stay bounded) and heartbeats keep being
// recorded; a client that does not read gets nothing more read for it until it does.
import http from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, runHelpers, startAgent, startCoordinator, waitFor, type TestEnv } from './support/index.js';
import { parsePrometheus, sumOf } from './support/prometheus.js';

let env: TestEnv;
let db: pg.Client;
let agentId: string;

beforeAll(async () => {
  env = await createTestEnv();
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  env.onCleanup(() => db.end());
  // The agent outlives the coordinators each test starts: it talks to whichever is up.
  const first = await startCoordinator(env, ['--heartbeat-interval', '1s']);
  agentId = (await startAgent(env, { slots: 8 })).agentId;
  await first.stop();
}, 60_000);
afterAll(async () => env?.cleanup());

interface SseEvent {
  id?: string;
  event?: string;
  data: { data?: string; state?: string | null };
}

/** Parses server-sent event blocks out of `text`; returns the events and what is left over. */
function takeEvents(text: string): { events: SseEvent[]; rest: string } {
  const blocks = text.split('\n\n');
  const rest = blocks.pop() ?? '';
  const events = blocks
    .filter((b) => /^event: /m.test(b))
    .map((b) => {
      const id = /^id: (.*)$/m.exec(b)?.[1];
      return {
        ...(id ? { id } : {}),
        event: /^event: (.*)$/m.exec(b)?.[1],
        data: JSON.parse(/^data: (.*)$/m.exec(b)?.[1] ?? 'null') as SseEvent['data'],
      };
    });
  return { events, rest };
}

/** One metric's value (summed over labels) from the coordinator's /metrics. */
async function metric(url: string, name: string): Promise<number> {
  return sumOf(parsePrometheus(await (await fetch(`${url}/metrics`)).text()), name);
}

/** The database's committed transactions so far (every query of the coordinator is one). */
async function commits(): Promise<number> {
  await db.query('SELECT pg_stat_clear_snapshot()');
  const r = await db.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()');
  return Number(r.rows[0]?.n);
}

/** Connections to the test database other than this test's own. */
async function connections(): Promise<number> {
  const r = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  return Number(r.rows[0]?.n);
}

async function lastHeartbeat(): Promise<number> {
  const r = await db.query<{ at: Date }>('SELECT last_heartbeat_at AS at FROM agents WHERE id = $1', [agentId]);
  return r.rows[0]!.at.getTime();
}

it('streams lines while the run runs, closes when it ends, resumes from Last-Event-ID', { timeout: 60_000 }, async () => {
  const coordinator = await startCoordinator(env, ['--heartbeat-interval', '1s']);
  const h = runHelpers(api(coordinator.url));
  const job = await h.createJob({
    name: 'ticker',
    executor: { type: 'exec', command: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; sleep 0.2; done'] },
  });
  const runId = await h.trigger(job);
  const res = await fetch(`${coordinator.url}/v1/runs/${runId}/logs?follow=1`);
  expect(res.status).toBe(200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let rest = '';
  let stateAtFirstLine: string | undefined;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const taken = takeEvents(rest + value);
    rest = taken.rest;
    for (const e of taken.events) {
      if (e.event === 'log' && stateAtFirstLine === undefined) stateAtFirstLine = (await h.getRun(runId)).state;
      events.push(e);
    }
  }
  // The first line came while the run was still running, and the stream ended on its own.
  expect(stateAtFirstLine).toBe('running');
  const lines = events.filter((e) => e.event === 'log');
  expect(lines.map((e) => e.data.data).join('')).toBe(Array.from({ length: 10 }, (_, i) => `line ${i + 1}\n`).join(''));
  expect(events[events.length - 1]).toEqual({ event: 'end', data: { state: 'succeeded' } });
  // A reconnecting EventSource sends the last id it saw: the stream goes on after it. Under load
  // the agent may send several lines in one chunk, so the cut is a chunk, not a line number.
  expect(lines.length).toBeGreaterThan(1);
  const cut = Math.floor((lines.length - 1) / 2);
  const resumed = await fetch(`${coordinator.url}/v1/runs/${runId}/logs?follow=1`, { headers: { 'last-event-id': lines[cut]!.id! } });
  const again = takeEvents(await resumed.text()).events;
  expect(
    again
      .filter((e) => e.event === 'log')
      .map((e) => e.data.data)
      .join(''),
  ).toBe(
    lines
      .slice(cut + 1)
      .map((e) => e.data.data)
      .join(''),
  );
  expect(again[again.length - 1]).toEqual({ event: 'end', data: { state: 'succeeded' } });
  await coordinator.stop();
});

it('refuses a follower beyond the caps per run and in all with 429 and Retry-After', { timeout: 60_000 }, async () => {
  const coordinator = await startCoordinator(env, [
    '--log-followers',
    '4',
    '--log-followers-per-run',
    '2',
    '--log-followers-per-token',
    '10',
  ]);
  const h = runHelpers(api(coordinator.url));
  const job = await h.createJob({ name: 'quiet', executor: { type: 'exec', command: ['sleep', '30'] } });
  const [a, b, c] = [await h.trigger(job), await h.trigger(job), await h.trigger(job)];
  const aborts = new AbortController();
  const follow = (runId: string) => fetch(`${coordinator.url}/v1/runs/${runId}/logs?follow=1`, { signal: aborts.signal });
  try {
    expect([(await follow(a)).status, (await follow(a)).status]).toEqual([200, 200]);
    const perRun = await follow(a);
    expect(perRun.status).toBe(429);
    expect(perRun.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await perRun.json()) as { detail: string }).detail).toContain('--log-followers-per-run');
    expect([(await follow(b)).status, (await follow(b)).status]).toEqual([200, 200]);
    const total = await follow(c);
    expect(total.status).toBe(429);
    expect(((await total.json()) as { detail: string }).detail).toContain('--log-followers)');
  } finally {
    aborts.abort();
  }
  // Followers that left free their places.
  await waitFor(async () => ((await metric(coordinator.url, 'drover_log_followers')) === 0 ? true : undefined), {
    timeoutMs: 10_000,
    description: 'the followers to be gone',
  });
  const again = await fetch(`${coordinator.url}/v1/runs/${c}/logs?follow=1`);
  expect(again.status).toBe(200);
  await again.body?.cancel();
  for (const id of [a, b, c]) await api(coordinator.url).post(`/v1/runs/${id}/cancel`, {});
  await coordinator.stop();
});

it('keeps pushing after the listening connection is cut', { timeout: 60_000 }, async () => {
  const coordinator = await startCoordinator(env, ['--heartbeat-interval', '1s', '--log-follow-poll', '60s']);
  const h = runHelpers(api(coordinator.url));
  const job = await h.createJob({
    name: 'ticker-after-cut',
    executor: { type: 'exec', command: ['sh', '-c', 'sleep 1; for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done'] },
  });
  // A follower opens the listening connection; cut it, as a PostgreSQL restart or a proxy would.
  const warm = await h.trigger(job);
  const first = await fetch(`${coordinator.url}/v1/runs/${warm}/logs?follow=1`);
  await first.text();
  const listener = async () =>
    (
      await db.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'drover-log-listener'`,
      )
    ).rows[0]?.pid;
  const cut = await waitFor(listener, { description: 'the listening connection' });
  await db.query('SELECT pg_terminate_backend($1)', [cut]);
  await waitFor(
    async () => {
      const pid = await listener();
      return pid !== undefined && pid !== cut ? pid : undefined;
    },
    { description: 'the listener to reconnect' },
  );
  // With the slow poll at a minute, lines arriving while the run runs came by notification.
  const runId = await h.trigger(job);
  const res = await fetch(`${coordinator.url}/v1/runs/${runId}/logs?follow=1`);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let rest = '';
  let stateAtFirstLine: string | undefined;
  const lines: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const taken = takeEvents(rest + value);
    rest = taken.rest;
    for (const e of taken.events.filter((x) => x.event === 'log')) {
      if (stateAtFirstLine === undefined) stateAtFirstLine = (await h.getRun(runId)).state;
      lines.push(e.data.data ?? '');
    }
  }
  expect(stateAtFirstLine).toBe('running');
  expect(lines.join('')).toBe('line 1\nline 2\nline 3\nline 4\nline 5\n');
  await coordinator.stop();
});

it('holds 500 idle followers without a query each, bounded connections, heartbeats recorded', { timeout: 120_000 }, async () => {
  const coordinator = await startCoordinator(env, [
    '--heartbeat-interval',
    '1s',
    '--log-followers-per-run',
    '1000',
    '--log-followers-per-token',
    '1000',
    '--max-connections-per-address',
    '0',
  ]);
  const h = runHelpers(api(coordinator.url));
  const job = await h.createJob({ name: 'followed', executor: { type: 'exec', command: ['sh', '-c', 'echo hello; sleep 300'] } });
  const runs = await Promise.all(Array.from({ length: 5 }, () => h.trigger(job)));
  for (const r of runs) await h.waitForRun(r, (run) => run.state === 'running');
  const lagBefore = {
    sum: await metric(coordinator.url, 'drover_heartbeat_lag_seconds_sum'),
    count: await metric(coordinator.url, 'drover_heartbeat_lag_seconds_count'),
  };
  const quietCommits = await commits();
  await new Promise((r) => setTimeout(r, 3000));
  const baseline = (await commits()) - quietCommits;
  const lagQuiet = {
    sum: (await metric(coordinator.url, 'drover_heartbeat_lag_seconds_sum')) - lagBefore.sum,
    count: (await metric(coordinator.url, 'drover_heartbeat_lag_seconds_count')) - lagBefore.count,
  };

  const aborts = new AbortController();
  const followers = 500;
  const streams = await Promise.all(
    Array.from({ length: followers }, (_, i) =>
      fetch(`${coordinator.url}/v1/runs/${runs[i % runs.length]}/logs?follow=1`, { signal: aborts.signal }),
    ),
  );
  try {
    expect(streams.map((s) => s.status).filter((s) => s !== 200)).toEqual([]);
    // Each reads what is there (its run's first line) once; read the streams so none backs up.
    for (const s of streams) void s.body?.pipeTo(new WritableStream()).catch(() => undefined);
    await waitFor(async () => ((await metric(coordinator.url, 'drover_log_followers')) === followers ? true : undefined), {
      timeoutMs: 30_000,
      description: `${followers} followers to be open`,
    });
    // Each follower's first read (at most 4 at once) is done before the window opens.
    let reads = -1;
    await waitFor(
      async () => {
        const now = await metric(coordinator.url, 'drover_log_follower_reads_total');
        const settled = now >= followers && now === reads;
        reads = now;
        return settled ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1000, description: 'the first reads of the followers to be done (reads that never stop: polling)' },
    );
    const heartbeatAt = await lastHeartbeat();
    const commitsBefore = await commits();
    const readsBefore = await metric(coordinator.url, 'drover_log_follower_reads_total');
    const lagMark = {
      sum: await metric(coordinator.url, 'drover_heartbeat_lag_seconds_sum'),
      count: await metric(coordinator.url, 'drover_heartbeat_lag_seconds_count'),
    };
    let mostConnections = 0;
    for (let i = 0; i < 6; i++) {
      mostConnections = Math.max(mostConnections, await connections());
      await new Promise((r) => setTimeout(r, 500));
    }
    const queries = (await commits()) - commitsBefore;
    const followerReads = (await metric(coordinator.url, 'drover_log_follower_reads_total')) - readsBefore;
    const lagFollowed = {
      sum: (await metric(coordinator.url, 'drover_heartbeat_lag_seconds_sum')) - lagMark.sum,
      count: (await metric(coordinator.url, 'drover_heartbeat_lag_seconds_count')) - lagMark.count,
    };
    const ms = (l: { sum: number; count: number }) => (l.count > 0 ? ((1000 * l.sum) / l.count).toFixed(1) : 'n/a');
    console.log(
      `log-follow: ${followers} followers over 3 s: ${queries} transactions in the database (${baseline} in 3 s without followers), ` +
        `${followerReads} follower reads, at most ${mostConnections} connections; ` +
        `heartbeat lag mean ${ms(lagQuiet)} ms (${lagQuiet.count} heartbeats) without followers, ${ms(lagFollowed)} ms (${lagFollowed.count}) with them`,
    );
    // Polling would be two queries per follower every 200 ms; pushed, quiet runs cost none, and
    // the slow sweep (5 s) one query for all of them.
    expect(followerReads).toBeLessThan(followers / 10);
    expect(queries).toBeLessThan(baseline + followers);
    // The pool (16), the dispatch pool (4) and the one listening connection.
    expect(mostConnections).toBeLessThanOrEqual(21);
    // All still open: the window saw them all.
    expect(await metric(coordinator.url, 'drover_log_followers')).toBe(followers);
    expect(await lastHeartbeat()).toBeGreaterThan(heartbeatAt);
  } finally {
    aborts.abort();
  }
  for (const r of runs) await api(coordinator.url).post(`/v1/runs/${r}/cancel`, {});
  await coordinator.stop();
});

it('reads nothing more for a client that does not read, until it does', { timeout: 120_000 }, async () => {
  const coordinator = await startCoordinator(env, ['--heartbeat-interval', '1s']);
  const h = runHelpers(api(coordinator.url));
  // 24 MB of output, of which 10 MiB kept: far more than the socket buffers between the coordinator and the client.
  const job = await h.createJob({
    name: 'talker',
    executor: {
      type: 'exec',
      command: ['sh', '-c', 'for i in $(seq 1 60); do head -c 400000 /dev/zero | tr "\\000" x | fold -w 1000; sleep 0.05; done'],
    },
  });
  const runId = await h.trigger(job);
  const url = new URL(`${coordinator.url}/v1/runs/${runId}/logs?follow=1`);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(url, resolve).on('error', reject));
  res.pause();
  await waitFor(async () => ((await metric(coordinator.url, 'drover_log_followers_waiting')) === 1 ? true : undefined), {
    timeoutMs: 60_000,
    description: 'the follower to wait for its client',
  });
  const readsWaiting = await metric(coordinator.url, 'drover_log_follower_reads_total');
  await h.waitForRun(runId, undefined, 60_000);
  await new Promise((r) => setTimeout(r, 1000));
  // More chunks committed and notified, but nothing was read for a client that reads nothing.
  expect(await metric(coordinator.url, 'drover_log_follower_reads_total')).toBe(readsWaiting);
  const rss = await metric(coordinator.url, 'drover_process_resident_memory_bytes');
  console.log(`log-follow: the coordinator's resident memory with a client not reading 24 MB of output: ${(rss / 2 ** 20).toFixed(0)} MiB`);
  // Once the client reads, it gets everything and the end.
  let text = '';
  let bytes = 0;
  let last: SseEvent | undefined;
  res.setEncoding('utf8');
  res.on('data', (d: string) => {
    const taken = takeEvents(text + d);
    text = taken.rest;
    for (const e of taken.events) {
      if (e.event === 'log') bytes += e.data.data?.length ?? 0;
      last = e;
    }
  });
  res.resume();
  await new Promise((r) => res.on('end', r));
  expect(last).toEqual({ event: 'end', data: { state: 'succeeded' } });
  // All that was kept (the agent keeps the first 10 MiB of a run's output).
  expect(bytes).toBe((await h.outputBytes(runId)).length);
  expect(bytes).toBeGreaterThan(8 * 2 ** 20);
  await coordinator.stop();
});

// Last: a coordinator requiring tokens may turn away this file's agent, which needs none.
it('refuses one follower too many per API token; another token still follows', { timeout: 60_000 }, async () => {
  const coordinator = await startCoordinator(env, ['--log-followers-per-token', '2'], { auth: true });
  const admin = api(coordinator.url, { token: coordinator.token! });
  const job = await runHelpers(admin).createJob({ name: 'quiet-for-tokens', executor: { type: 'exec', command: ['sleep', '30'] } });
  const runId = await runHelpers(admin).trigger(job);
  const viewer = await admin.post<{ token: string }>('/v1/tokens', { role: 'viewer', name: 'log-viewer', namespaces: ['default'] });
  expect(viewer.status).toBe(201);
  const aborts = new AbortController();
  const follow = (token: string) =>
    fetch(`${coordinator.url}/v1/runs/${runId}/logs?follow=1`, { headers: { authorization: `Bearer ${token}` }, signal: aborts.signal });
  try {
    expect([(await follow(coordinator.token!)).status, (await follow(coordinator.token!)).status]).toEqual([200, 200]);
    const refused = await follow(coordinator.token!);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as { detail: string }).detail).toContain('--log-followers-per-token');
    expect((await follow(viewer.body.token)).status).toBe(200);
  } finally {
    aborts.abort();
  }
  await admin.post(`/v1/runs/${runId}/cancel`, {});
  await coordinator.stop();
});
