-- Agent identity: an agent joins with a join token (an api_tokens row of role `agent`) and its
-- own Ed25519 public key; every message it sends afterwards is signed with the matching
-- private key, which never leaves its host. Revoking an agent refuses its messages until it
-- joins again with a join token created after the revocation.
ALTER TABLE agents ADD COLUMN public_key text;               -- base64url Ed25519 key; null: joined before identity existed, or insecure mode
ALTER TABLE agents ADD COLUMN joined_with_token text;        -- the api_tokens id it joined with
ALTER TABLE agents ADD COLUMN joined_at timestamptz;
ALTER TABLE agents ADD COLUMN join_namespaces text[];        -- its join token's namespaces; null or empty: any
ALTER TABLE agents ADD COLUMN namespaces text[];             -- job namespaces it is offered (join token narrowed by the agent's own setting); null: any
ALTER TABLE agents ADD COLUMN revoked_at timestamptz;

-- migrate:down
ALTER TABLE agents DROP COLUMN revoked_at;
ALTER TABLE agents DROP COLUMN namespaces;
ALTER TABLE agents DROP COLUMN join_namespaces;
ALTER TABLE agents DROP COLUMN joined_at;
ALTER TABLE agents DROP COLUMN joined_with_token;
ALTER TABLE agents DROP COLUMN public_key;
