-- Log followers are woken, not polling: a committed batch of log chunks, and a run reaching a
-- terminal state, notify channel `drover_logs` with the run's id. NOTIFY is delivered only on
-- commit, so a follower that reads after it sees the rows; identical payloads of one
-- transaction are folded into one by PostgreSQL.
CREATE FUNCTION drover_notify_log_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('drover_logs', run_id) FROM (SELECT DISTINCT run_id FROM inserted) AS r;
  RETURN NULL;
END $$;

CREATE TRIGGER run_logs_notify AFTER INSERT ON run_logs
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION drover_notify_log_rows();

CREATE FUNCTION drover_notify_run_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('drover_logs', NEW.id);
  RETURN NULL;
END $$;

CREATE TRIGGER runs_end_notify AFTER UPDATE OF state ON runs FOR EACH ROW
  WHEN (NEW.state IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'expired', 'skipped')
    AND OLD.state IS DISTINCT FROM NEW.state)
  EXECUTE FUNCTION drover_notify_run_end();

-- migrate:down
DROP TRIGGER runs_end_notify ON runs;
DROP FUNCTION drover_notify_run_end();
DROP TRIGGER run_logs_notify ON run_logs;
DROP FUNCTION drover_notify_log_rows();
