-- A job's disconnect rule, fixed for each attempt when it is offered (the rule the agent was
-- given, whatever the job says later): how long the agent must have been silent (now() against
-- agents.last_heartbeat_at) before the attempt counts as stopped by the agent and the run may be
-- re-dispatched. NULL ("keep", or offered before this column): given up as soon as the agent is down.
ALTER TABLE runs ADD COLUMN redispatch_after_silence_ms integer;

-- migrate:down
ALTER TABLE runs DROP COLUMN redispatch_after_silence_ms;
