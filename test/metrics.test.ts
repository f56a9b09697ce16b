// Prometheus metrics of a real coordinator and agent: both endpoints print a valid exposition
// (checked by the strict reader in support/prometheus.ts) with every promised family, and the
// counters and histograms move by exactly what the runs did. Never timings: only counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  runHelpers,
  spawnDrover,
  startAgent,
  startCoordinator,
  waitFor,
  type ApiClient,
  type StartedAgent,
  type TestEnv,
} from './support/index.js';
import { parsePrometheus, sampleOf, sumOf, type Exposition } from './support/prometheus.js';
import { promtoolComplaints } from './support/promtool.js';

let env: TestEnv;
let client: ApiClient;
let coordinatorUrl: string;
let agent: StartedAgent;
let agentMetricsUrl: string;
let runs: ReturnType<typeof runHelpers>;

/** GETs a /metrics endpoint, checks it is Prometheus text, and parses it strictly. */
async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

/** Scrapes until `until` holds (counters move just after the API shows the change). */
async function scrapeUntil(url: string, until: (e: Exposition) => boolean, description: string): Promise<Exposition> {
  return waitFor(
    async () => {
      const e = await scrape(url);
      return until(e) ? e : undefined;
    },
    { description, timeoutMs: 30_000, intervalMs: 200 },
  );
}

const COORDINATOR_FAMILIES = {
  drover_runs: 'gauge',
  drover_runs_finished_total: 'counter',
  drover_queue_depth: 'gauge',
  drover_dispatch_latency_seconds: 'histogram',
  drover_attempt_duration_seconds: 'histogram',
  drover_scheduler_lateness_seconds: 'histogram',
  drover_agents: 'gauge',
  drover_fleet_slots: 'gauge',
  drover_fleet_free_slots: 'gauge',
  drover_heartbeat_lag_seconds: 'histogram',
  drover_api_request_duration_seconds: 'histogram',
  drover_leader: 'gauge',
  drover_metrics_collect_errors_total: 'counter',
  drover_process_cpu_user_seconds_total: 'counter',
  drover_process_resident_memory_bytes: 'gauge',
  drover_nodejs_eventloop_lag_seconds: 'gauge',
} as const;

const AGENT_FAMILIES = {
  drover_agent_slots: 'gauge',
  drover_agent_slots_in_use: 'gauge',
  drover_agent_runs_running: 'gauge',
  drover_agent_attempts_finished_total: 'counter',
  drover_agent_outbox_depth: 'gauge',
  drover_agent_heartbeats_sent_total: 'counter',
  drover_agent_heartbeat_failures_total: 'counter',
  drover_agent_heartbeat_ack_age_seconds: 'gauge',
  drover_agent_connected: 'gauge',
  drover_agent_process_cpu_user_seconds_total: 'counter',
  drover_agent_process_resident_memory_bytes: 'gauge',
} as const;

beforeAll(async () => {
  env = await createTestEnv();
  // A short heartbeat interval so heartbeat metrics move within the test.
  const coordinator = await startCoordinator(env, ['--heartbeat-interval', '1s']);
  coordinatorUrl = coordinator.url;
  client = api(coordinatorUrl);
  runs = runHelpers(client);
  agent = await startAgent(env, { slots: 2, extraArgs: ['--metrics-addr', '127.0.0.1:0'] });
  const listening = await agent.proc.waitForLog('metrics listening');
  expect(listening.agentId).toBe(agent.agentId);
  agentMetricsUrl = String(listening.url);
});
afterAll(async () => env?.cleanup());

describe('coordinator /metrics', () => {
  it('is a valid exposition with every promised family, all prefixed drover_, and stays out of the OpenAPI document', async () => {
    const expo = await scrape(coordinatorUrl);
    for (const [name, type] of Object.entries(COORDINATOR_FAMILIES)) expect(expo.get(name)?.type, name).toBe(type);
    for (const name of expo.keys()) expect(name).toMatch(/^drover_/);
    const paths = Object.keys((await client.get<{ paths: Record<string, unknown> }>('/openapi.json')).body.paths);
    expect(paths).not.toContain('/metrics');
  });

  it('reports the fleet and this coordinator as leader', async () => {
    const expo = await scrapeUntil(
      coordinatorUrl,
      (e) => sampleOf(e, 'drover_agents', { state: 'ready' })?.value === 1,
      'the agent to count as ready',
    );
    expect(sampleOf(expo, 'drover_agents', { state: 'down' })?.value).toBe(0);
    expect(sampleOf(expo, 'drover_fleet_slots')?.value).toBe(2);
    expect(sampleOf(expo, 'drover_leader')?.value).toBe(1);
    for (const state of ['pending', 'queued', 'offered', 'running', 'retrying'])
      expect(sampleOf(expo, 'drover_runs', { state }), state).toBeDefined();
  });

  it('counts finished runs, attempt ends, dispatches and API requests by what the runs did', async () => {
    const ok = await runs.createJob({ name: 'metrics-ok', executor: { type: 'exec', command: ['true'] } });
    const bad = await runs.createJob({ name: 'metrics-bad', executor: { type: 'exec', command: ['sh', '-c', 'exit 3'] } });
    const before = await scrape(coordinatorUrl);
    const ids = [await runs.trigger(ok), await runs.trigger(ok), await runs.trigger(bad)];
    const ended = await Promise.all(ids.map((id) => runs.waitForRun(id)));
    expect(ended.map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'failed']);
    const delta = (after: Exposition, name: string, labels: Record<string, string> = {}) =>
      sumOf(after, name, labels) - sumOf(before, name, labels);
    const after = await scrapeUntil(
      coordinatorUrl,
      (e) =>
        sumOf(e, 'drover_runs_finished_total') - sumOf(before, 'drover_runs_finished_total') >= 3 &&
        sumOf(e, 'drover_attempt_duration_seconds_count') - sumOf(before, 'drover_attempt_duration_seconds_count') >= 3,
      'three run ends to be counted',
    );
    expect(delta(after, 'drover_runs_finished_total', { state: 'succeeded' })).toBe(2);
    expect(delta(after, 'drover_runs_finished_total', { state: 'failed' })).toBe(1);
    expect(delta(after, 'drover_runs_finished_total')).toBe(3);
    expect(delta(after, 'drover_attempt_duration_seconds_count', { outcome: 'succeeded' })).toBe(2);
    expect(delta(after, 'drover_attempt_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(delta(after, 'drover_dispatch_latency_seconds_count')).toBe(3);
    expect(
      delta(after, 'drover_api_request_duration_seconds_count', { method: 'POST', route: '/v1/jobs/:id/runs', status_code: '201' }),
    ).toBe(3);
    expect(
      delta(after, 'drover_api_request_duration_seconds_count', { method: 'GET', route: '/v1/runs/:id', status_code: '200' }),
    ).toBeGreaterThanOrEqual(3);
    // Route patterns only: no label carries a run or job id.
    const routes = new Set(after.get('drover_api_request_duration_seconds')?.samples.map((s) => s.labels.route));
    for (const id of [...ids, ok, bad]) for (const route of routes) expect(route).not.toContain(id);
    const notFound = await client.get('/no/such/path');
    expect(notFound.status).toBe(404);
    await scrapeUntil(
      coordinatorUrl,
      (e) => sumOf(e, 'drover_api_request_duration_seconds_count', { route: 'unmatched', status_code: '404' }) >= 1,
      'the 404 to be counted as unmatched',
    );
  });

  it('shows a run waiting in the queue by its priority, and counts its cancel', async () => {
    const job = await runs.createJob({
      name: 'metrics-nowhere',
      executor: { type: 'exec', command: ['true'] },
      constraints: [{ attribute: 'label.region', operator: '=', value: 'nowhere' }],
      priority: 77,
    });
    const before = await scrape(coordinatorUrl);
    const runId = await runs.trigger(job);
    const waiting = await scrapeUntil(
      coordinatorUrl,
      (e) => sampleOf(e, 'drover_queue_depth', { priority: '77' })?.value === 1,
      'the run to show in the queue at priority 77',
    );
    expect(sampleOf(waiting, 'drover_runs', { state: 'queued' })?.value).toBeGreaterThanOrEqual(1);
    expect((await client.post(`/v1/runs/${runId}/cancel`, {})).status).toBe(200);
    const after = await scrapeUntil(
      coordinatorUrl,
      (e) => sampleOf(e, 'drover_queue_depth', { priority: '77' })?.value === 0,
      'the queue at priority 77 to empty',
    );
    expect(
      sumOf(after, 'drover_runs_finished_total', { state: 'cancelled' }) -
        sumOf(before, 'drover_runs_finished_total', { state: 'cancelled' }),
    ).toBe(1);
  });

  it('observes heartbeat lag and the lateness of schedule fires', async () => {
    const job = await runs.createJob({ name: 'metrics-every-second', executor: { type: 'noop' }, schedule: { every: '1s' } });
    const before = await scrape(coordinatorUrl);
    await scrapeUntil(
      coordinatorUrl,
      (e) =>
        sumOf(e, 'drover_scheduler_lateness_seconds_count') > sumOf(before, 'drover_scheduler_lateness_seconds_count') &&
        sumOf(e, 'drover_heartbeat_lag_seconds_count') > sumOf(before, 'drover_heartbeat_lag_seconds_count'),
      'a fire and a heartbeat to be observed',
    );
    expect((await client.del(`/v1/jobs/${job}`)).status).toBeLessThan(300);
  });

  it('lints clean with promtool once runs, queues, agents, fires and requests have made their series', async () => {
    const res = await fetch(`${coordinatorUrl}/metrics`);
    const text = await res.text();
    // The earlier tests made these: the check below covers real samples, not only HELP lines.
    for (const series of ['drover_runs_finished_total', 'drover_queue_depth', 'drover_scheduler_lateness_seconds_count'])
      expect(text, series).toMatch(new RegExp(`^${series}(\\{.*\\})? \\S+$`, 'm'));
    expect(promtoolComplaints(text)).toEqual([]);
  });
});

describe('agent metrics port', () => {
  it('serves a valid exposition with every promised family, all prefixed drover_agent_, counting attempts and heartbeats', async () => {
    const expo = await scrapeUntil(
      agentMetricsUrl,
      (e) => sumOf(e, 'drover_agent_heartbeats_sent_total') >= 1 && sumOf(e, 'drover_agent_attempts_finished_total') >= 3,
      'heartbeats and the earlier attempts to be counted',
    );
    for (const [name, type] of Object.entries(AGENT_FAMILIES)) expect(expo.get(name)?.type, name).toBe(type);
    for (const name of expo.keys()) expect(name).toMatch(/^drover_agent_/);
    expect(sampleOf(expo, 'drover_agent_slots')?.value).toBe(2);
    expect(sampleOf(expo, 'drover_agent_connected')?.value).toBe(1);
    // The earlier tests ran two successes and one failure here (the cancelled run never reached it).
    expect(sampleOf(expo, 'drover_agent_attempts_finished_total', { outcome: 'succeeded' })?.value).toBeGreaterThanOrEqual(2);
    expect(sampleOf(expo, 'drover_agent_attempts_finished_total', { outcome: 'failed' })?.value).toBe(1);
    expect(sampleOf(expo, 'drover_agent_heartbeat_failures_total')?.value).toBe(0);
    expect(promtoolComplaints(await (await fetch(`${agentMetricsUrl}/metrics`)).text())).toEqual([]);
  });

  it('answers /healthz with 200 and who it is while registered', async () => {
    const res = await fetch(`${agentMetricsUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', agentId: agent.agentId, connected: true });
    expect((await fetch(`${agentMetricsUrl}/nope`)).status).toBe(404);
  });

  it('answers /healthz with 503 while no coordinator has taken the agent', async () => {
    // Another cluster: no coordinator there, so the agent waits unregistered.
    const lonely = spawnDrover(env, ['agent', '--allow-same-user', '--metrics-addr', '127.0.0.1:0'], {
      name: 'lonely-agent',
      env: { DROVER_CLUSTER: `${env.namespace}-empty` },
    });
    const listening = await lonely.waitForLog('metrics listening');
    const res = await fetch(`${String(listening.url)}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'disconnected', agentId: listening.agentId, connected: false });
    const expo = await scrape(String(listening.url));
    expect(sampleOf(expo, 'drover_agent_connected')?.value).toBe(0);
    await lonely.stop();
  });
});

describe('structured logs', () => {
  it("names the agent on every line the agent writes, and the run and attempt on every attempt's line", async () => {
    const records = agent.proc.lines.flatMap((l) => (l.json ? [l.json] : []));
    expect(records.length).toBeGreaterThan(5);
    for (const r of records) expect(r.agentId, JSON.stringify(r)).toBe(agent.agentId);
    const attemptLines = records.filter((r) => r.msg === 'attempt starting' || r.msg === 'attempt finished');
    expect(attemptLines.length).toBeGreaterThanOrEqual(6); // three runs above, each started and finished
    for (const r of attemptLines) {
      expect(typeof r.runId, JSON.stringify(r)).toBe('string');
      expect(r.attempt, JSON.stringify(r)).toBeGreaterThanOrEqual(1);
    }
  });
});
