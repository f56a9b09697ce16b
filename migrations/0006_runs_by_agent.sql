-- Heartbeats compare what an agent holds with the live runs assigned to it: find those by agent.
CREATE INDEX runs_agent_live ON runs (agent_id) WHERE state IN ('offered', 'running');

-- migrate:down
DROP INDEX runs_agent_live;
