// The coordinator's Prometheus metrics, on a registry of its own (never prom-client's global
// one: tests and `drover dev` may host several coordinators in one process). Counters and
// histograms move where events happen, through the small methods below; the gauges about the
// whole cluster are read at scrape time (see README.md in this folder for every metric).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { dropMisnamedTotals, isTerminal, LIVE_RUN_STATES, type RunState } from '@drover/shared';
import type { Db } from '../store/db.js';
import type { ReadyQueue } from '../queue/ready-queue.js';
import { clusterCounts, type ClusterCounts } from '../store/cluster-counts.js';

/** Every metric name starts with this. */
export const METRIC_PREFIX = 'drover_';

/** The agent states the agents gauge always reports (0 when none), so dashboards see every series. */
const AGENT_STATES = ['ready', 'draining', 'cordoned', 'down', 'left', 'gone'] as const;

/** Scrape-time reads of PostgreSQL and the queue are reused for this long (several scrapers, one query). */
const SNAPSHOT_TTL_MS = 1000;
/** Event kinds of the agent protocol: anything else a report carries is counted as `malformed`, so a forged kind cannot add labels. */
const REPORTED_KINDS = new Set(['started', 'log', 'finished']);

/** Where the scrape-time gauges read from; set once the coordinator has its connections. */
export interface MetricSources {
  db: Db;
  queue: ReadyQueue;
  isLeader: () => boolean;
}

interface Snapshot {
  counts: ClusterCounts;
  depth: Map<number, number>;
}

const seconds = (ms: number): number => Math.max(0, ms) / 1000;

/** The coordinator's metrics: one instance per coordinator, with its own registry. */
export class CoordinatorMetrics {
  readonly registry = new Registry();
  private sources: MetricSources | undefined;
  private snapshot: { at: number; value: Promise<Snapshot | undefined> } | undefined;
  /** Priorities reported before: reported as 0 once emptied, so their series drop to 0 instead of vanishing. */
  private readonly seenPriorities = new Set<number>();

  private readonly runsFinished: Counter<'state'>;
  private readonly dispatchLatency: Histogram;
  private readonly attemptDuration: Histogram<'outcome'>;
  private readonly schedulerLateness: Histogram;
  private readonly heartbeatLag: Histogram;
  private readonly apiDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly collectErrors: Counter;
  private readonly eventsRejected: Counter<'kind'>;
  private readonly logFollowerReads: Counter;
  private logFollowerCounts: () => { open: number; waiting: number } = () => ({ open: 0, waiting: 0 });

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
      dropMisnamedTotals(this.registry);
    }

    this.clusterGauge(
      'drover_runs',
      'Live runs by state, cluster-wide (PostgreSQL at scrape time). Finished runs: drover_runs_finished_total.',
      ['state'],
      (g, s) => {
        for (const state of LIVE_RUN_STATES) g.set({ state }, s.counts.runs.get(state) ?? 0);
      },
    );
    this.clusterGauge(
      'drover_queue_depth',
      'Runs in the ready queue by priority, cluster-wide (the queue backend at scrape time).',
      ['priority'],
      (g, s) => {
        for (const p of s.depth.keys()) this.seenPriorities.add(p);
        for (const p of this.seenPriorities) g.set({ priority: String(p) }, s.depth.get(p) ?? 0);
      },
    );
    this.clusterGauge('drover_agents', 'Agents by state, cluster-wide (PostgreSQL at scrape time).', ['state'], (g, s) => {
      for (const state of new Set<string>([...AGENT_STATES, ...s.counts.agents.keys()]))
        g.set({ state }, s.counts.agents.get(state)?.count ?? 0);
    });
    this.clusterGauge(
      'drover_fleet_slots',
      'Run slots of the agents that are up (ready, draining, cordoned), cluster-wide.',
      [],
      (g, s) => {
        let n = 0;
        for (const [state, a] of s.counts.agents) if (state !== 'down' && state !== 'left' && state !== 'gone') n += a.slots;
        g.set(n);
      },
    );
    this.clusterGauge(
      'drover_fleet_free_slots',
      'Free run slots of ready agents, as they last reported them, cluster-wide.',
      [],
      (g, s) => {
        g.set(s.counts.agents.get('ready')?.freeSlots ?? 0);
      },
    );
    const isLeader = () => (this.sources?.isLeader() ? 1 : 0);
    new Gauge({
      name: 'drover_leader',
      help: '1 while this coordinator holds the dispatcher lease (dispatches, schedules, reconciles), else 0.',
      registers,
      collect() {
        this.set(isLeader());
      },
    });
    this.runsFinished = new Counter({
      name: 'drover_runs_finished_total',
      help: 'Runs this coordinator brought to a terminal state, by that state.',
      labelNames: ['state'],
      registers,
    });
    this.dispatchLatency = new Histogram({
      name: 'drover_dispatch_latency_seconds',
      help: 'Time from a run being queued to its offer to an agent (leader only).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: 'drover_attempt_duration_seconds',
      help: 'Attempt run time, start to end as measured by the agent, by outcome (results applied by this coordinator).',
      labelNames: ['outcome'],
      buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 21600, 86400],
      registers,
    });
    this.schedulerLateness = new Histogram({
      name: 'drover_scheduler_lateness_seconds',
      help: 'Time from a schedule fire being due to its run being queued (leader only).',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.heartbeatLag = new Histogram({
      name: 'drover_heartbeat_lag_seconds',
      help: "Time from an agent sending a heartbeat (the agent's clock) to this coordinator handling it; clock skew below 0 counts as 0.",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.apiDuration = new Histogram({
      name: 'drover_api_request_duration_seconds',
      help: 'REST API requests by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.eventsRejected = new Counter({
      name: 'drover_report_events_rejected_total',
      help: 'Agent report events this coordinator could not apply, set apart and recorded on their runs, by kind (started, log, finished, malformed).',
      labelNames: ['kind'],
      registers,
    });
    const followers = () => this.logFollowerCounts();
    new Gauge({
      name: 'drover_log_followers',
      help: 'Log followers (GET /v1/runs/{id}/logs?follow=1) open on this coordinator.',
      registers,
      collect() {
        this.set(followers().open);
      },
    });
    new Gauge({
      name: 'drover_log_followers_waiting',
      help: 'Log followers whose client is not reading fast enough: nothing is read for them until their socket drains.',
      registers,
      collect() {
        this.set(followers().waiting);
      },
    });
    this.logFollowerReads = new Counter({
      name: 'drover_log_follower_reads_total',
      help: 'Reads of new log chunks for followers (each a run state and a chunk query), woken by a notification or the slow poll.',
      registers,
    });
    this.collectErrors = new Counter({
      name: 'drover_metrics_collect_errors_total',
      help: 'Scrapes whose cluster-wide gauges could not be read (PostgreSQL or the queue failed); those gauges kept their last values.',
      registers,
    });
  }

  /** A gauge about the whole cluster, filled from the scrape's snapshot (kept as it was when the snapshot failed). */
  private clusterGauge<L extends string>(name: string, help: string, labelNames: L[], fill: (g: Gauge<L>, s: Snapshot) => void): void {
    const read = () => this.read();
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        const s = await read();
        if (s) fill(this, s);
      },
    });
  }

  /** Connects the scrape-time gauges to the coordinator's store and queue. */
  attach(sources: MetricSources): void {
    this.sources = sources;
  }

  /** The exposition text of every metric. */
  async expose(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  /** Runs changed state: the terminal ones count as finished. */
  runsEnded(states: Iterable<string>): void {
    for (const state of states) if (isTerminal(state as RunState)) this.runsFinished.inc({ state });
  }

  /** Runs were offered to agents at `now`, having been queued since `queuedAt` (epoch ms each). */
  runsOffered(queuedAt: readonly number[], now: number): void {
    for (const at of queuedAt) this.dispatchLatency.observe(seconds(now - at));
  }

  /** An agent's attempt ended with `outcome` after `durationMs` and this coordinator applied it. */
  attemptEnded(outcome: string, durationMs: number): void {
    this.attemptDuration.observe({ outcome }, seconds(durationMs));
  }

  /** Runs were created: skipped fires count as finished, queued fires measure the scheduler's lateness. */
  runsCreated(runs: ReadonlyArray<{ state: string; fireAt?: number }>, now: number): void {
    for (const r of runs) {
      if (r.state === 'skipped') this.runsFinished.inc({ state: 'skipped' });
      else if (r.state === 'queued' && r.fireAt !== undefined) this.schedulerLateness.observe(seconds(now - r.fireAt));
    }
  }

  /** A report event could not be applied and was recorded instead; a kind outside the protocol counts as `malformed`. */
  reportEventRejected(kind: string): void {
    this.eventsRejected.inc({ kind: REPORTED_KINDS.has(kind) ? kind : 'malformed' });
  }

  /** Where the log follower gauges read from (api/log-followers.ts). */
  watchLogFollowers(counts: () => { open: number; waiting: number }): void {
    this.logFollowerCounts = counts;
  }

  /** A follower read its run's new chunks. */
  logFollowerRead(): void {
    this.logFollowerReads.inc();
  }

  /** A heartbeat sent at `sentAt` (the agent's clock) arrived at `now`. */
  heartbeatReceived(sentAt: number, now: number): void {
    this.heartbeatLag.observe(seconds(now - sentAt));
  }

  /** An API request ended; `route` is the route pattern (never the raw URL, whose ids would explode the label set). */
  apiRequest(method: string, route: string, statusCode: number, durationMs: number): void {
    this.apiDuration.observe({ method, route, status_code: String(statusCode) }, seconds(durationMs));
  }

  /** PostgreSQL and queue figures, shared by every gauge of one scrape and by scrapes within a second. */
  private read(): Promise<Snapshot | undefined> {
    const sources = this.sources;
    if (!sources) return Promise.resolve(undefined);
    const now = Date.now();
    if (this.snapshot && now - this.snapshot.at < SNAPSHOT_TTL_MS) return this.snapshot.value;
    const value = Promise.all([clusterCounts(sources.db), sources.queue.depthByPriority()]).then(
      ([counts, depth]) => ({ counts, depth }),
      () => {
        // Keep the cluster-wide gauges as they were rather than fail the scrape: process and
        // event metrics are worth having exactly when PostgreSQL or Redis is in trouble.
        this.collectErrors.inc();
        this.snapshot = undefined;
        return undefined;
      },
    );
    this.snapshot = { at: now, value };
    return value;
  }
}
