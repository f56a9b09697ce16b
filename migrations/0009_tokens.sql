-- API tokens: bearer tokens with a role and the namespaces they may see. Only a SHA-256 hash
-- of each token is stored; the token itself is shown once, when it is created. Tokens of role
-- `agent` are join tokens: an agent presents one at its first registration.
CREATE TABLE api_tokens (
  id           text PRIMARY KEY,              -- ULID, safe to show and log
  name         text NOT NULL,                 -- what the operator called it
  role         text NOT NULL,                 -- admin | operator | submitter | viewer | agent
  namespaces   text[] NOT NULL,               -- empty for admin tokens (every namespace)
  secret_hash  bytea NOT NULL UNIQUE,         -- sha256 of the whole token string
  created_by   text,                          -- the actor who created it
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  revoked_at   timestamptz,
  last_used_at timestamptz
);

-- migrate:down
DROP TABLE api_tokens;
