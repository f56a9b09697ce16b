-- Namespaces (multi-tenancy): every job belongs to one; its runs, dead letters and action runs
-- belong to it through their job_id. Job names are unique per namespace.
--
-- Runs carry no namespace column of their own: a token's run list filters with
-- `job_id IN (SELECT id FROM jobs WHERE namespace = ANY(…))`, which PostgreSQL plans as a
-- hashed subplan over the (small) jobs table while it walks runs in id order, so the hot
-- paths (inserting runs, applying reports) are untouched. Admins and --insecure skip the
-- filter entirely. Figures are in store/query-runs.ts.
ALTER TABLE jobs ADD COLUMN namespace text NOT NULL DEFAULT 'default';
DROP INDEX jobs_name_live;
CREATE UNIQUE INDEX jobs_name_live ON jobs (namespace, name) WHERE deleted_at IS NULL;

-- migrate:down
DROP INDEX jobs_name_live;
CREATE UNIQUE INDEX jobs_name_live ON jobs (name) WHERE deleted_at IS NULL;
ALTER TABLE jobs DROP COLUMN namespace;
