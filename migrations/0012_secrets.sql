-- Secrets: values jobs refer to by name (`"env": { "TOKEN": { "secret": "api-token" } }`),
-- encrypted at rest with AES-256-GCM under the coordinator's secrets key. Only the nonce and
-- the ciphertext (GCM tag appended) are kept; `key_id` is a fingerprint of the key that sealed
-- the value, so a coordinator started with another key says so clearly.
CREATE TABLE secrets (
  namespace  text NOT NULL,
  name       text NOT NULL,
  nonce      bytea NOT NULL,
  ciphertext bytea NOT NULL,
  key_id     text NOT NULL,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, name)
);

-- migrate:down
DROP TABLE secrets;
