-- Output is bytes, not text: a job may print NUL, invalid UTF-8 or binary noise, and PostgreSQL
-- text holds neither NUL nor invalid UTF-8. Chunks are stored as the bytes printed; the API
-- serves them as text when they are UTF-8 and as base64 when not. Rewrites run_logs once.
ALTER TABLE run_logs ALTER COLUMN data TYPE bytea USING convert_to(data, 'UTF8');

-- migrate:down
-- Chunks that are not UTF-8 text (or hold NUL) cannot go back to text: they are dropped.
CREATE FUNCTION pg_temp.utf8_or_null(b bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RETURN convert_from(b, 'UTF8');
EXCEPTION WHEN OTHERS THEN
  RETURN NULL;
END $$;
DELETE FROM run_logs WHERE pg_temp.utf8_or_null(data) IS NULL;
ALTER TABLE run_logs ALTER COLUMN data TYPE text USING convert_from(data, 'UTF8');
