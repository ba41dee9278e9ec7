-- quant_platform schema v2 (PostgreSQL): users get a role check and a disabled flag; API keys.
-- users.secret_hash is the argon2id hash of the user's password ('' = no password set);
-- an API key is "qk_<key_id>_<secret>": api_keys holds key_id in clear (the lookup) and
-- the argon2id hash of the secret, never the secret itself.

ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('viewer', 'trader', 'admin'));

CREATE TABLE api_keys (
    key_id      text PRIMARY KEY,
    username    text NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    secret_hash text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_username_idx ON api_keys (username);
