-- Fleet operations and health: draining an agent may carry a deadline, after which its
-- remaining runs are taken back and re-queued; heartbeats leave a per-minute history.
ALTER TABLE agents ADD COLUMN drain_deadline timestamptz;
ALTER TABLE agents ADD COLUMN down_since timestamptz;

-- One row per agent and minute: the average of that minute's heartbeats. Kept for a day.
CREATE TABLE agent_metrics (
  agent_id          text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  minute            timestamptz NOT NULL,
  samples           integer NOT NULL,
  cpu_percent       real NOT NULL,
  load1             real NOT NULL,
  memory_used_bytes bigint NOT NULL,
  slots_used        real NOT NULL,
  PRIMARY KEY (agent_id, minute)
);
CREATE INDEX agent_metrics_minute ON agent_metrics (minute);

-- "Runs lost in the last hour" for the fleet summary, without scanning every transition.
CREATE INDEX run_transitions_lost ON run_transitions (at) WHERE to_state = 'lost';

-- migrate:down
DROP INDEX run_transitions_lost;
DROP TABLE agent_metrics;
ALTER TABLE agents DROP COLUMN down_since;
ALTER TABLE agents DROP COLUMN drain_deadline;
