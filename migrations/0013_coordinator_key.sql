-- The coordinators' shared Ed25519 key: they sign what they send agents (offers, stop requests,
-- answers to registrations), and an agent pins the public half when it joins. Created by the
-- first coordinator that starts; kept here because every coordinator must sign with the same
-- key, and whoever can read this database owns the cluster anyway.
CREATE TABLE coordinator_keys (
  id          text PRIMARY KEY,            -- 'cluster': one key for now; rotation would add rows
  private_key text NOT NULL,               -- PKCS#8 PEM
  public_key  text NOT NULL,               -- base64url, what agents pin
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE coordinator_keys;
