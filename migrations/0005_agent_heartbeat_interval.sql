-- The heartbeat interval each agent was given at registration: it is down after missing
-- heartbeats at that interval, whatever size the fleet has grown or shrunk to since.
ALTER TABLE agents ADD COLUMN heartbeat_interval_ms integer;

-- migrate:down
ALTER TABLE agents DROP COLUMN heartbeat_interval_ms;
