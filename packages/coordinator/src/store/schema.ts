// Kysely table types; the SQL in migrations/ is the source of truth.
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface JobsTable {
  id: string;
  name: string;
  /** migrations/0010_namespaces.sql; unique (namespace, name) among live jobs. */
  namespace: Generated<string>;
  definition: Json<unknown>;
  priority: number;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  deleted_at: Timestamp | null;
  paused_at: Timestamp | null;
  /** Compiled from the definition, for the sweeps: expectedRunTime and maxQueueTime in ms. */
  expected_run_ms: ColumnType<number | null, number | null | undefined, number | null>;
  max_queue_ms: ColumnType<number | null, number | null | undefined, number | null>;
  /** migrations/0018_job_version.sql: one more on every change to the row. */
  version: ColumnType<string, never, string>;
}

export interface ScheduleStateTable {
  job_id: string;
  last_fire_at: Timestamp | null;
  next_fire_at: Timestamp | null;
  paused_from: Timestamp | null;
  resumed_at: Timestamp | null;
  updated_at: Generated<Date>;
  /** The `skip_next` action: the first fire at or after this instant is skipped. */
  skip_next_after: Timestamp | null;
}

export interface AgentsTable {
  id: string;
  node_id: string;
  name: string;
  version: string;
  protocol: number;
  state: string;
  attributes: Json<Record<string, string | number>>;
  labels: Json<Record<string, string>>;
  executors: string[];
  total: Json<{ slots: number; cpu: number; memoryBytes: number }>;
  free: Json<{ slots: number; cpu: number; memoryBytes: number }>;
  usage: Json<unknown> | null;
  registered_at: Generated<Date>;
  last_heartbeat_at: Generated<Date>;
  drain_deadline: Timestamp | null;
  down_since: Timestamp | null;
  /** What the operator last set (ready, cordoned, draining); `state` returns to it after `down`. */
  operator_state: Generated<string>;
  /** The heartbeat interval handed to the agent when it registered. */
  heartbeat_interval_ms: number | null;
  /** Agent identity (migrations/0011_agent_identity.sql). */
  public_key: string | null;
  joined_with_token: string | null;
  joined_at: Timestamp | null;
  join_namespaces: string[] | null;
  namespaces: string[] | null;
  revoked_at: Timestamp | null;
}

export interface AgentMetricsTable {
  agent_id: string;
  minute: Timestamp;
  samples: number;
  cpu_percent: number;
  load1: number;
  memory_used_bytes: number;
  slots_used: number;
}

export interface RunsTable {
  id: string;
  job_id: string;
  state: string;
  priority: number;
  trigger: string;
  parameters: Json<Record<string, string>>;
  attempt: Generated<number>;
  attempt_token: Generated<number>;
  agent_id: string | null;
  queue_reason: string | null;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  duration_ms: number | null;
  cpu_time_ms: number | null;
  peak_memory_bytes: number | null;
  created_at: Timestamp;
  queued_at: Timestamp | null;
  offered_at: Timestamp | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  fire_at: Timestamp | null;
  not_before: Timestamp | null;
  idempotency_key: string | null;
  request_hash: string | null;
  skip_reason: string | null;
  retry_base: Generated<number>;
  violated_at: Timestamp | null;
  http_status: number | null;
  output_bytes: number | null;
  dropped_bytes: number | null;
  last_lines: Json<string[]> | null;
  cancel_requested_at: Timestamp | null;
  /** Silence of the agent after which this attempt counts as stopped (its disconnect rule); null: as soon as the agent is down. */
  redispatch_after_silence_ms: number | null;
}

export interface RunAttemptsTable {
  run_id: string;
  attempt: number;
  attempt_token: number;
  agent_id: string | null;
  outcome: string;
  offered_at: Timestamp | null;
  started_at: Timestamp | null;
  finished_at: Timestamp;
  exit_code: number | null;
  signal: string | null;
  http_status: number | null;
  error: string | null;
  duration_ms: number | null;
  cpu_time_ms: number | null;
  peak_memory_bytes: number | null;
  violated_at: Timestamp | null;
  output_bytes: number | null;
  dropped_bytes: number | null;
  last_lines: Json<string[]> | null;
  retry_at: Timestamp | null;
}

export interface DeadLettersTable {
  run_id: string;
  job_id: string;
  attempt: number;
  state: string;
  reason: string;
  created_at: Timestamp;
  resolved_at: Timestamp | null;
  resolution: string | null;
}

export interface ActionRunsTable {
  id: Generated<number>;
  run_id: string;
  job_id: string;
  attempt: number;
  attempt_token: Generated<number>;
  trigger: string;
  action_index: number;
  spec: Json<unknown>;
  state: Generated<string>;
  tries: Generated<number>;
  next_at: Timestamp;
  last_error: string | null;
  last_status: number | null;
  result: Json<unknown> | null;
  created_at: Timestamp;
  finished_at: Timestamp | null;
}

export interface RunTransitionsTable {
  id: Generated<number>;
  run_id: string;
  from_state: string | null;
  to_state: string;
  attempt_token: number;
  agent_id: string | null;
  reason: string | null;
  at: Timestamp;
}

export interface RunLogsTable {
  run_id: string;
  attempt: number;
  seq: number;
  stream: string;
  data: Buffer;
  at: Timestamp;
}

export interface FencedMessagesTable {
  id: Generated<number>;
  run_id: string;
  agent_id: string | null;
  kind: string;
  token: number;
  current_token: number | null;
  at: Generated<Date>;
}

/** Report events isolated because they could not be applied (migrations/0015_rejected_events.sql). */
export interface RejectedEventsTable {
  id: Generated<number>;
  run_id: string;
  agent_id: string;
  kind: string;
  token: number | null;
  seq: number | null;
  reason: string;
  at: Generated<Date>;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: Generated<Date>;
  actor: string;
  role: string | null;
  namespace: string | null;
  action: string;
  target: string | null;
  outcome: string;
  status: number | null;
  ip: string | null;
  detail: Json<Record<string, unknown>>;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  role: string;
  namespaces: string[];
  secret_hash: Buffer;
  created_by: string | null;
  created_at: Generated<Date>;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

export interface SecretsTable {
  namespace: string;
  name: string;
  nonce: Buffer;
  ciphertext: Buffer;
  key_id: string;
  created_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** The cluster's signing key (migrations/0013_coordinator_key.sql). */
export interface CoordinatorKeysTable {
  id: string;
  private_key: string;
  public_key: string;
  created_at: Generated<Date>;
}

export interface Database {
  jobs: JobsTable;
  agents: AgentsTable;
  runs: RunsTable;
  run_transitions: RunTransitionsTable;
  run_logs: RunLogsTable;
  fenced_messages: FencedMessagesTable;
  rejected_events: RejectedEventsTable;
  schedule_state: ScheduleStateTable;
  agent_metrics: AgentMetricsTable;
  run_attempts: RunAttemptsTable;
  dead_letters: DeadLettersTable;
  action_runs: ActionRunsTable;
  audit_log: AuditLogTable;
  api_tokens: ApiTokensTable;
  coordinator_keys: CoordinatorKeysTable;
  secrets: SecretsTable;
}
