// The agent's Prometheus metrics and its optional metrics/health port (`--metrics-addr`).
// One prom-client Registry per agent, never the global one, because `drover dev` and tests
// run agents and coordinators in one process. Gauges are read from the agent's live state at
// scrape time; counters move where the agent acts (heartbeats, attempt ends).
//
// | metric                                      | type    | labels  |
// |---------------------------------------------|---------|---------|
// | drover_agent_slots                          | gauge   |         | run slots this agent offers
// | drover_agent_slots_in_use                   | gauge   |         | slots held by attempts (running or stopping)
// | drover_agent_runs_running                   | gauge   |         | attempts executing now
// | drover_agent_attempts_finished_total        | counter | outcome | attempts ended here, by outcome
// | drover_agent_outbox_depth                   | gauge   |         | run events not yet acknowledged by a coordinator
// | drover_agent_outbox_events_dropped_total    | counter | reason  | events dropped undelivered: rejected for good, or over the outbox bound
// | drover_agent_heartbeats_sent_total          | counter |         | heartbeats sent
// | drover_agent_heartbeat_failures_total       | counter |         | heartbeats that got no answer
// | drover_agent_heartbeat_ack_age_seconds      | gauge   |         | since a coordinator last answered (registration or heartbeat); since start before that
// | drover_agent_connected                      | gauge   |         | 1 while registered and heartbeats are answered
// | drover_agent_process_*, drover_agent_nodejs_* | various |       | prom-client's default process metrics
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { DroverError, dropMisnamedTotals } from '@drover/shared';

/** What the gauges read at scrape time. */
export interface AgentState {
  agentId: string;
  slots: number;
  slotsInUse(): number;
  runsRunning(): number;
  outboxDepth(): number;
  /** Registered with a coordinator, and its heartbeats are answered. */
  connected(): boolean;
}

/** The agent's metrics, on a registry of its own. */
export class AgentMetrics {
  readonly registry = new Registry();
  private lastAckAt: number;
  private readonly attemptsFinished: Counter<'outcome'>;
  private readonly heartbeatsSent: Counter;
  private readonly heartbeatFailures: Counter;
  private readonly outboxDropped: Counter<'reason'>;

  constructor(
    readonly state: AgentState,
    private readonly now: () => number = Date.now,
  ) {
    this.lastAckAt = now();
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'drover_agent_' });
    dropMisnamedTotals(this.registry);
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('drover_agent_slots', 'Run slots this agent offers.', () => state.slots);
    gauge('drover_agent_slots_in_use', 'Slots held by attempts, running or stopping.', () => state.slotsInUse());
    gauge('drover_agent_runs_running', 'Attempts executing on this agent now.', () => state.runsRunning());
    gauge('drover_agent_outbox_depth', 'Run events (starts, log chunks, results) not yet acknowledged by a coordinator.', () =>
      state.outboxDepth(),
    );
    gauge(
      'drover_agent_heartbeat_ack_age_seconds',
      'Seconds since a coordinator last answered this agent (registration or heartbeat); since the agent started, before any answer.',
      () => Math.max(0, this.now() - this.lastAckAt) / 1000,
    );
    gauge('drover_agent_connected', '1 while registered with a coordinator whose heartbeats answer, else 0.', () =>
      state.connected() ? 1 : 0,
    );
    this.attemptsFinished = new Counter({
      name: 'drover_agent_attempts_finished_total',
      help: 'Attempts that ended on this agent, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.outboxDropped = new Counter({
      name: 'drover_agent_outbox_events_dropped_total',
      help: 'Run events dropped without delivery: rejected for good by the coordinator (reason "rejected", isolated by bisecting the report) or shed over the outbox bound (reason "bound").',
      labelNames: ['reason'],
      registers,
    });
    this.heartbeatsSent = new Counter({ name: 'drover_agent_heartbeats_sent_total', help: 'Heartbeats sent.', registers });
    this.heartbeatFailures = new Counter({
      name: 'drover_agent_heartbeat_failures_total',
      help: 'Heartbeats that got no answer (no coordinator, a timeout).',
      registers,
    });
  }

  /** An attempt ended here with `outcome`. */
  attemptFinished(outcome: string): void {
    this.attemptsFinished.inc({ outcome });
  }

  /** `count` run events left the outbox undelivered, for `reason`. */
  outboxEventsDropped(reason: 'rejected' | 'bound', count: number): void {
    this.outboxDropped.inc({ reason }, count);
  }

  /** A heartbeat went out. */
  heartbeatSent(): void {
    this.heartbeatsSent.inc();
  }

  /** A coordinator answered (a registration or a heartbeat). */
  acknowledged(): void {
    this.lastAckAt = this.now();
  }

  /** A heartbeat got no answer. */
  heartbeatFailed(): void {
    this.heartbeatFailures.inc();
  }
}

/**
 * Serves `GET /metrics` (Prometheus text) and `GET /healthz` (200 when connected to a
 * coordinator, 503 otherwise, with `{status, agentId, connected}`) on `addr`. Resolves with
 * the bound URL (port 0 picks a free one) once listening.
 */
export async function serveAgentMetrics(
  metrics: AgentMetrics,
  addr: { host: string; port: number },
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`),
      );
      return;
    }
    if (path === '/healthz') {
      const connected = metrics.state.connected();
      const body = { status: connected ? 'ok' : 'disconnected', agentId: metrics.state.agentId, connected };
      res.writeHead(connected ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) =>
      reject(
        new DroverError(
          'METRICS_ADDRESS_UNAVAILABLE',
          `cannot serve metrics on ${addr.host}:${addr.port}: ${err.code === 'EADDRINUSE' ? 'the address is in use' : err.message}; give --metrics-addr another one (port 0 takes any free port)`,
          { cause: err },
        ),
      );
    server.once('error', failed);
    server.listen(addr.port, addr.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return { url: `http://${host}:${bound.port}`, server };
}
