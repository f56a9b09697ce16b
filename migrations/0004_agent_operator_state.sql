-- What the operator last asked of an agent (ready, cordoned or draining), kept apart from
-- `state`, which liveness also writes (down, gone): an agent that comes back returns to it.
ALTER TABLE agents ADD COLUMN operator_state text NOT NULL DEFAULT 'ready';
UPDATE agents SET operator_state = state WHERE state IN ('cordoned', 'draining');

-- migrate:down
ALTER TABLE agents DROP COLUMN operator_state;
