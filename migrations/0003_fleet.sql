-- Fleet operations: draining an agent may carry a deadline, after which its remaining runs
-- are taken back and re-queued.
ALTER TABLE agents ADD COLUMN drain_deadline timestamptz;

-- migrate:down
ALTER TABLE agents DROP COLUMN drain_deadline;
