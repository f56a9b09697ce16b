-- A job's version: 1 when created, one more on every change to its row (definition, pause,
-- deletion). Each sweep a coordinator compares the versions it cached with these, so a change
-- whose broadcast it missed reaches its job cache within one sweep.
ALTER TABLE jobs ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- migrate:down
ALTER TABLE jobs DROP COLUMN version;
