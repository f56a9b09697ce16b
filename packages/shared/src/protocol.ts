// The coordinator ⇄ agent protocol: Moleculer service and action names, and the messages
// they carry. Hot-path messages are batches (many offers, many events per message).
import type { Attributes } from './constraints.js';
import type { Capacity, ResourceRequest } from './placement.js';
import type { AttemptOutcome } from './run.js';
import type { ExecutorSpec } from './job.js';
import type { MessageAuth } from './identity.js';
import type { DisconnectRule } from './disconnect.js';

/** Bumped on any incompatible change to the messages below. */
export const PROTOCOL_VERSION = 2;

/** Moleculer service and action names. */
export const SERVICES = {
  /** On every coordinator: agent registration and heartbeats. */
  fleet: 'drover.fleet',
  /** On every coordinator: run events (start, log chunks, results) reported by agents. */
  runs: 'drover.runs',
  /** On every agent: offers and stop requests, called with the agent's nodeID. */
  agent: 'drover.agent',
  /** On every coordinator: the events that wake its dispatcher and scheduler, and refresh its caches. */
  dispatch: 'drover.dispatch',
} as const;

export const ACTIONS = {
  register: `${SERVICES.fleet}.register`,
  heartbeat: `${SERVICES.fleet}.heartbeat`,
  report: `${SERVICES.runs}.report`,
  offer: `${SERVICES.agent}.offer`,
  stop: `${SERVICES.agent}.stop`,
} as const;

/** Events broadcast to every coordinator. */
export const EVENTS = {
  /** An agent's free capacity changed (a run ended, or it accepted offers). */
  capacity: 'drover.agent.capacity',
  /** Fleet membership or state changed: the dispatcher should refresh its view. */
  fleetChanged: 'drover.fleet.changed',
  /** Runs became ready: the dispatcher should look at the queue now. */
  queueReady: 'drover.queue.ready',
  /** Coordinator to coordinator: schedules or delayed runs changed, the scheduler should plan again. */
  scheduleChanged: 'drover.schedule.changed',
  /** Coordinator to coordinator: a job was changed or deleted (`{ jobId }`); caches drop it. */
  jobChanged: 'drover.job.changed',
  /** Coordinator to coordinator: an agent was revoked (`{ agentId }`); caches drop its key. */
  agentRevoked: 'drover.agent.revoked',
} as const;

/** A run an agent is executing, quoted with its attempt token. */
export interface HeldRun {
  runId: string;
  token: number;
}

/** Sent once per connection; the coordinator answers with the agent's id or refuses. */
export interface RegisterRequest {
  protocol: number;
  /** Stable across restarts (persisted by the agent); the coordinator keys agents by it. */
  agentId: string;
  nodeId: string;
  name: string;
  version: string;
  /** Fingerprinted facts plus `label.*` entries. */
  attributes: Attributes;
  labels: Record<string, string>;
  executors: string[];
  total: Capacity;
  free: Capacity;
  /** Runs still executing from before a reconnect. */
  runs: HeldRun[];
  /** The agent's Ed25519 public key (base64url); recorded at join, must match afterwards. */
  publicKey?: string;
  /** First registration with a join token (role `agent`): exchanges it for this agent's key. */
  join?: { token: string };
  /** Job namespaces the agent itself narrows to (its join token's namespaces narrow further). */
  namespaces?: string[];
  /** Signed with the agent's key (see identity.ts); absent from agents without identity. */
  auth?: MessageAuth;
}

export interface RegisterResponse {
  agentId: string;
  heartbeatIntervalMs: number;
  /** Job namespaces this agent is offered runs of; absent when it takes any namespace. */
  namespaces?: string[];
  /** The cluster's public key (base64url): the agent pins it at its join and checks offers and stops against it. */
  coordinatorKey?: string;
  /** Signed with the cluster's key, for the agent's node. */
  auth?: MessageAuth;
  /** The nonce of the request this answers (inside what is signed): an answer to one request cannot serve another. */
  re?: string;
  /** Runs the agent holds that the coordinator no longer assigns to it: stop them. */
  stop: HeldRun[];
}

/** Host usage sampled at heartbeat time. */
export interface AgentUsage {
  cpuPercent: number;
  load1: number;
  memoryUsedBytes: number;
  slotsUsed: number;
}

export interface HeartbeatRequest {
  agentId: string;
  nodeId: string;
  at: number;
  free: Capacity;
  usage: AgentUsage;
  runs: HeldRun[];
  /** The agent is shutting down (SIGTERM): it finishes what it runs and takes nothing new. */
  draining?: boolean;
  /**
   * The agent's last beat: it stopped cleanly, holds no run, and beats no more. It is recorded
   * `left` (no alert, nothing to take back) instead of being found `down` by its silence.
   */
  leaving?: boolean;
  auth?: MessageAuth;
}

export interface HeartbeatResponse {
  /** False when the coordinator does not know this agent (e.g. after its database was reset): register again. */
  known: boolean;
  /** The interval to heartbeat at from now on (it grows with the fleet). */
  heartbeatIntervalMs?: number;
  stop: HeldRun[];
  /** Signed with the cluster's key (kind `heartbeat-answer`), for the agent's node. */
  auth?: MessageAuth;
  /** The nonce of the request this answers (inside what is signed): an answer to one request cannot serve another. */
  re?: string;
}

/** Broadcast by an agent whenever its free capacity changes; `version` only grows. */
export interface CapacityEvent {
  agentId: string;
  version: number;
  free: Capacity;
  auth?: MessageAuth;
}

/** One run offered to an agent, with everything it needs to execute it. */
export interface RunOffer {
  runId: string;
  jobId: string;
  jobName: string;
  token: number;
  attempt: number;
  executor: ExecutorSpec;
  resources: ResourceRequest;
  timeoutMs: number | null;
  /** Between SIGTERM and SIGKILL when the attempt is stopped (timeout, cancel, shutdown). */
  killGraceMs: number;
  /** Output kept for this attempt; beyond it output is dropped and a marker says how much. */
  logLimitBytes: number;
  /** The run's parameters (job defaults merged with the trigger's). */
  parameters: Record<string, string>;
  /**
   * What the attempt does when the agent hears no coordinator (see disconnect.ts): with `stop`,
   * the agent stops it after `afterMs` of silence. Absent (an older coordinator): it keeps running.
   */
  disconnect?: DisconnectRule;
  /**
   * Environment variables whose values are secrets, resolved by the dispatcher for this offer
   * only (the executor's env keeps no references). The agent masks these values in the
   * attempt's output. Never logged, never stored: NATS must use TLS where this matters.
   */
  secretEnv?: Record<string, string>;
}

export interface OfferRequest {
  offers: RunOffer[];
  /**
   * The coordinator's offer timeout (ms): a `stop` offer signed longer ago than this (or its
   * `disconnect.after`) is refused, as the run may have gone back to the queue. Absent: older coordinator.
   */
  answerWithinMs?: number;
  /** Signed with the cluster's key, for the agent's node. */
  auth?: MessageAuth;
}

export interface OfferResponse {
  accepted: string[];
  refused: Array<{ runId: string; reason: string }>;
  capacity: CapacityEvent;
  /** The agent that answers (signed by it, so an offer's answer cannot come from another). */
  agentId?: string;
  auth?: MessageAuth;
}

export interface StopRequest {
  runs: HeldRun[];
  reason: string;
  /** Signed with the cluster's key, for the agent's node. */
  auth?: MessageAuth;
}

/** Something that happened to an attempt on an agent. Every event quotes the attempt token. */
export type AgentEvent = StartedEvent | LogEvent | FinishedEvent;

export interface StartedEvent {
  kind: 'started';
  runId: string;
  token: number;
  at: number;
}

/**
 * A chunk of output; `seq` orders the chunks of one attempt, starting at 0. `data` is the text
 * when the bytes are valid UTF-8 without NUL (the common case, sent as is), else their base64
 * with `encoding: 'base64'`: either way the coordinator stores the bytes as printed.
 */
export interface LogEvent {
  kind: 'log';
  runId: string;
  token: number;
  seq: number;
  stream: 'stdout' | 'stderr';
  data: string;
  encoding?: 'base64';
  at: number;
}

export interface FinishedEvent {
  kind: 'finished';
  runId: string;
  /** The run's job, from the offer: lets the coordinator skip looking for actions of jobs that have none. */
  jobId?: string;
  token: number;
  at: number;
  outcome: AttemptOutcome;
  exitCode: number | null;
  signal: string | null;
  error: string | null;
  durationMs: number;
  cpuTimeMs: number | null;
  peakMemoryBytes: number | null;
  /** The response status of an `http` attempt; null for other executors or when none arrived. */
  httpStatus: number | null;
  /** Bytes of output the attempt produced, kept or not. */
  outputBytes: number;
  /** Bytes of output dropped beyond the attempt's log limit. */
  droppedBytes: number;
  /** The attempt's last lines of output (at most 20 lines, 4 KiB), kept even when output was dropped. */
  lastLines: string[];
}

/** A batch of events from one agent's outbox, in the order they happened. */
export interface ReportRequest {
  agentId: string;
  events: AgentEvent[];
  auth?: MessageAuth;
}

/** An event the coordinator could not apply, isolated from its batch and recorded on its run with why. */
export interface RejectedEvent {
  runId: string;
  token: number;
  kind: string;
  /** A log chunk's `seq`. */
  seq?: number;
  reason: string;
}

/**
 * The error `type` (code 422) of a report the coordinator cannot apply even event by event (a
 * malformed batch): retrying it cannot help, so the agent isolates and drops it.
 */
export const REPORT_REJECTED = 'REPORT_REJECTED';

export interface ReportResponse {
  /** Runs whose events carried a stale token: the agent must stop them and drop their events. */
  stale: HeldRun[];
  /**
   * Events the coordinator could not apply and recorded on their runs instead (a `finished` one
   * still ended its attempt, failed): acknowledged like the rest, never to be sent again.
   */
  rejected?: RejectedEvent[];
  /** Signed with the cluster's key (kind `report-answer`), for the agent's node. */
  auth?: MessageAuth;
  /** The nonce of the request this answers (inside what is signed): an answer to one request cannot serve another. */
  re?: string;
}
