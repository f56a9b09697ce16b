-- Execution semantics: attempts kept one row each, retries with backoff (state `retrying`
-- waits on not_before), violations, dead letters and actions on run events.

-- Limits the coordinator sweeps for, compiled from the definition when a job is written.
ALTER TABLE jobs ADD COLUMN expected_run_ms bigint;
ALTER TABLE jobs ADD COLUMN max_queue_ms bigint;

ALTER TABLE runs ADD COLUMN retry_base integer NOT NULL DEFAULT 0;  -- attempts before the last manual retry
ALTER TABLE runs ADD COLUMN violated_at timestamptz;                -- the current attempt passed expectedRunTime
ALTER TABLE runs ADD COLUMN http_status integer;
ALTER TABLE runs ADD COLUMN output_bytes bigint;
ALTER TABLE runs ADD COLUMN dropped_bytes bigint;
ALTER TABLE runs ADD COLUMN last_lines jsonb;                       -- the last attempt's last lines of output
ALTER TABLE runs ADD COLUMN cancel_requested_at timestamptz;        -- a cancel was asked while the run was on an agent
CREATE INDEX runs_waiting_until ON runs (not_before) WHERE state IN ('pending', 'retrying');
CREATE INDEX runs_running ON runs (started_at) WHERE state = 'running';

-- One row per attempt that ran (or was lost): written when the attempt ends.
CREATE TABLE run_attempts (
  run_id            text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  attempt           integer NOT NULL,
  attempt_token     bigint NOT NULL,
  agent_id          text,
  outcome           text NOT NULL,            -- succeeded | failed | timed_out | cancelled | lost
  offered_at        timestamptz,
  started_at        timestamptz,
  finished_at       timestamptz NOT NULL,
  exit_code         integer,
  signal            text,
  http_status       integer,
  error             text,
  duration_ms       integer,
  cpu_time_ms       integer,
  peak_memory_bytes bigint,
  violated_at       timestamptz,
  output_bytes      bigint,
  dropped_bytes     bigint,
  last_lines        jsonb,
  retry_at          timestamptz,              -- when the next attempt was due, if this one was retried
  PRIMARY KEY (run_id, attempt)
);

CREATE TABLE dead_letters (
  run_id       text PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  job_id       text NOT NULL REFERENCES jobs (id),
  attempt      integer NOT NULL,
  state        text NOT NULL,                 -- the run's final state
  reason       text NOT NULL,
  created_at   timestamptz NOT NULL,
  resolved_at  timestamptz,
  resolution   text                           -- replayed | dismissed
);
CREATE INDEX dead_letters_open ON dead_letters (created_at DESC) WHERE resolved_at IS NULL;
CREATE INDEX dead_letters_job ON dead_letters (job_id, created_at DESC);

CREATE TABLE action_runs (
  id            bigserial PRIMARY KEY,
  run_id        text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  job_id        text NOT NULL,
  attempt       integer NOT NULL,
  attempt_token bigint NOT NULL DEFAULT 0,    -- with the trigger, names the event: a run retried by hand gets a new token
  trigger       text NOT NULL,                -- on_success | on_failure | on_timeout | on_violation | on_lost | on_dead_letter
  action_index  integer NOT NULL,             -- position in the job's actions
  spec          jsonb NOT NULL,               -- the action as the job defined it when it fired
  state         text NOT NULL DEFAULT 'pending',  -- pending | succeeded | failed
  tries         integer NOT NULL DEFAULT 0,
  next_at       timestamptz NOT NULL,
  last_error    text,
  last_status   integer,
  result        jsonb,
  created_at    timestamptz NOT NULL,
  finished_at   timestamptz,
  UNIQUE (run_id, attempt_token, trigger, action_index)
);
CREATE INDEX action_runs_due ON action_runs (next_at) WHERE state = 'pending';

-- A schedule fire to skip (the `skip_next` action): the next fire at or after this instant.
ALTER TABLE schedule_state ADD COLUMN skip_next_after timestamptz;

-- migrate:down
ALTER TABLE schedule_state DROP COLUMN skip_next_after;
DROP TABLE action_runs;
DROP TABLE dead_letters;
DROP TABLE run_attempts;
DROP INDEX runs_running;
DROP INDEX runs_waiting_until;
ALTER TABLE runs DROP COLUMN cancel_requested_at;
ALTER TABLE runs DROP COLUMN last_lines;
ALTER TABLE runs DROP COLUMN dropped_bytes;
ALTER TABLE runs DROP COLUMN output_bytes;
ALTER TABLE runs DROP COLUMN http_status;
ALTER TABLE runs DROP COLUMN violated_at;
ALTER TABLE runs DROP COLUMN retry_base;
ALTER TABLE jobs DROP COLUMN max_queue_ms;
ALTER TABLE jobs DROP COLUMN expected_run_ms;
