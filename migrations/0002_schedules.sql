-- Scheduling: fires of a job's schedule become runs keyed by (job, fire time), so however
-- many coordinators schedule at once, one fire makes one run. Delayed triggers wait as
-- `pending` runs with a not-before time. Manual triggers may carry an idempotency key.

ALTER TABLE jobs ADD COLUMN paused_at timestamptz;          -- set while the job's schedule is paused

-- Where each scheduled job stands: the last fire handled and the next one due.
CREATE TABLE schedule_state (
  job_id        text PRIMARY KEY REFERENCES jobs (id),
  last_fire_at  timestamptz,                -- the latest fire already turned into a run (or skipped)
  next_fire_at  timestamptz,                -- NULL when the schedule will not fire again
  paused_from   timestamptz,                -- the last pause, so catch-up can say why fires were missed
  resumed_at    timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedule_state_due ON schedule_state (next_fire_at) WHERE next_fire_at IS NOT NULL;

ALTER TABLE runs ADD COLUMN fire_at timestamptz;          -- the schedule fire this run is for
ALTER TABLE runs ADD COLUMN not_before timestamptz;       -- a delayed run waits (pending) until then
ALTER TABLE runs ADD COLUMN idempotency_key text;
ALTER TABLE runs ADD COLUMN request_hash text;            -- what the idempotent request asked for
ALTER TABLE runs ADD COLUMN skip_reason text;             -- why a `skipped` run did not run
-- Exactly one run per fire.
CREATE UNIQUE INDEX runs_one_per_fire ON runs (job_id, fire_at) WHERE fire_at IS NOT NULL;
-- The same key on the same job names the same run.
CREATE UNIQUE INDEX runs_idempotency ON runs (job_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Delayed runs and runs waiting behind a running one (overlap `queue`).
CREATE INDEX runs_pending ON runs (not_before) WHERE state = 'pending';
-- runs_state (state, id) already finds live runs by state; a second index on them only cost
-- every state change one more index entry.
DROP INDEX runs_active;
-- Overlap decisions count a job's live runs on every fire; history must not slow that down.
CREATE INDEX runs_job_live ON runs (job_id) WHERE state IN ('pending', 'queued', 'offered', 'running');
-- Scheduler statistics read fires by time.
CREATE INDEX runs_fires ON runs (fire_at) WHERE fire_at IS NOT NULL;

-- migrate:down
DROP INDEX runs_fires;
DROP INDEX runs_job_live;
CREATE INDEX runs_active ON runs (state, agent_id) WHERE state IN ('queued', 'offered', 'running');
ALTER TABLE runs DROP COLUMN skip_reason;
DROP INDEX runs_pending;
DROP INDEX runs_idempotency;
DROP INDEX runs_one_per_fire;
ALTER TABLE runs DROP COLUMN request_hash;
ALTER TABLE runs DROP COLUMN idempotency_key;
ALTER TABLE runs DROP COLUMN not_before;
ALTER TABLE runs DROP COLUMN fire_at;
DROP TABLE schedule_state;
ALTER TABLE jobs DROP COLUMN paused_at;
