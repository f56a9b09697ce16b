-- The audit log: every mutating API request and every security event (a failed login, a
-- forbidden request, an agent impersonation attempt, a token created or revoked), written
-- before the response is sent. Append-only; read by admins at GET /v1/audit.
CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,            -- "token:<id>", "agent:<id>", "anonymous", "dev", "system"
  role        text,                     -- the actor's role when known
  namespace   text,                     -- the namespace the action touched, when it has one
  action      text NOT NULL,            -- e.g. "POST /v1/jobs", "auth.failed", "agent.impersonation"
  target      text,                     -- what it acted on: a job, run, token or agent id
  outcome     text NOT NULL,            -- ok | denied | failed | rejected
  status      integer,                  -- the HTTP status, for API requests
  ip          text,
  detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, id DESC);

-- migrate:down
DROP TABLE audit_log;
