-- A queue reason says why a waiting run is not running yet; it means nothing once the run has
-- left the queue. One trigger clears it on every way out (offered, cancelled, expired, lost,
-- skipped, by a drain…), so no path that ends or moves a run can leave a stale reason behind,
-- including ones written later. Runs ended before this migration are cleared once.
CREATE FUNCTION drover_clear_queue_reason() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.queue_reason := NULL;
  RETURN NEW;
END $$;

CREATE TRIGGER runs_queue_reason_ends BEFORE UPDATE OF state ON runs FOR EACH ROW
  WHEN (NEW.state NOT IN ('pending', 'queued') AND NEW.queue_reason IS NOT NULL)
  EXECUTE FUNCTION drover_clear_queue_reason();

UPDATE runs SET queue_reason = NULL WHERE state NOT IN ('pending', 'queued') AND queue_reason IS NOT NULL;

-- migrate:down
DROP TRIGGER runs_queue_reason_ends ON runs;
DROP FUNCTION drover_clear_queue_reason();
