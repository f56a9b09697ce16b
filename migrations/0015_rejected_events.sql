-- Report events the coordinator could not apply (a value PostgreSQL refuses, a malformed event):
-- each was isolated from its batch so the rest of the batch, and the agent's later reports,
-- went through. Kept for the run's page (GET /v1/runs/{id} `rejectedEvents`) and operators.
-- No foreign key: a forged or broken event may name a run that does not exist.
CREATE TABLE rejected_events (
  id          bigserial PRIMARY KEY,
  run_id      text NOT NULL,
  agent_id    text NOT NULL,
  kind        text NOT NULL,                -- started | log | finished | what a malformed event said
  token       bigint,
  seq         bigint,
  reason      text NOT NULL,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_events_by_run ON rejected_events (run_id, id);

-- migrate:down
DROP TABLE rejected_events;
