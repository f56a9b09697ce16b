-- Drover's initial schema: jobs, runs (with attempts and tokens), every run state
-- transition, run log chunks, agents, and fenced (rejected stale) messages.

CREATE TABLE jobs (
  id          text PRIMARY KEY,               -- ULID
  name        text NOT NULL,
  definition  jsonb NOT NULL,                 -- the job definition as accepted
  priority    integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz
);
-- Names are unique among live jobs; a deleted job's name may be reused.
CREATE UNIQUE INDEX jobs_name_live ON jobs (name) WHERE deleted_at IS NULL;

CREATE TABLE agents (
  id                text PRIMARY KEY,         -- persisted by the agent itself
  node_id           text NOT NULL,
  name              text NOT NULL,
  version           text NOT NULL,
  protocol          integer NOT NULL,
  state             text NOT NULL,            -- ready | draining | cordoned | down | gone
  attributes        jsonb NOT NULL,
  labels            jsonb NOT NULL,
  executors         text[] NOT NULL,
  total             jsonb NOT NULL,           -- { slots, cpu, memoryBytes }
  free              jsonb NOT NULL,
  usage             jsonb,
  registered_at     timestamptz NOT NULL DEFAULT now(),
  last_heartbeat_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE runs (
  id                 text PRIMARY KEY,        -- ULID: sorts by creation
  job_id             text NOT NULL REFERENCES jobs (id),
  state              text NOT NULL,
  priority           integer NOT NULL,
  trigger            text NOT NULL,           -- manual | batch | schedule | retry
  parameters         jsonb NOT NULL DEFAULT '{}',
  attempt            integer NOT NULL DEFAULT 0,   -- 1 on first dispatch
  attempt_token      bigint NOT NULL DEFAULT 0,    -- grows on every (re)dispatch; fences stale messages
  agent_id           text,
  queue_reason       text,
  exit_code          integer,
  signal             text,
  error              text,
  duration_ms        integer,
  cpu_time_ms        integer,
  peak_memory_bytes  bigint,
  created_at         timestamptz NOT NULL,
  queued_at          timestamptz,
  offered_at         timestamptz,
  started_at         timestamptz,
  finished_at        timestamptz
);
CREATE INDEX runs_job ON runs (job_id, id DESC);
CREATE INDEX runs_state ON runs (state, id DESC);
-- The reconciler looks for non-terminal runs only; keep that index small.
CREATE INDEX runs_active ON runs (state, agent_id) WHERE state IN ('queued', 'offered', 'running');

CREATE TABLE run_transitions (
  id          bigserial PRIMARY KEY,
  run_id      text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  from_state  text,
  to_state    text NOT NULL,
  attempt_token bigint NOT NULL,
  agent_id    text,
  reason      text,
  at          timestamptz NOT NULL
);
CREATE INDEX run_transitions_run ON run_transitions (run_id, id);

CREATE TABLE run_logs (
  run_id      text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  attempt     integer NOT NULL,
  seq         integer NOT NULL,
  stream      text NOT NULL,                  -- stdout | stderr
  data        text NOT NULL,
  at          timestamptz NOT NULL,
  PRIMARY KEY (run_id, attempt, seq)
);

-- Messages rejected by fencing (stale attempt token, unknown run): kept for operators.
CREATE TABLE fenced_messages (
  id            bigserial PRIMARY KEY,
  run_id        text NOT NULL,
  agent_id      text,
  kind          text NOT NULL,                -- started | log | finished | heartbeat
  token         bigint NOT NULL,
  current_token bigint,
  at            timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE fenced_messages;
DROP TABLE run_logs;
DROP TABLE run_transitions;
DROP TABLE runs;
DROP TABLE agents;
DROP TABLE jobs;
