-- quant_platform schema v2 (embedded SQLite): the same tables and rules as 0002_users_keys.sql
-- (SQLite cannot add a CHECK to an existing table: triggers refuse an unknown role).

ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER users_role_check_insert BEFORE INSERT ON users
WHEN NEW.role NOT IN ('viewer', 'trader', 'admin')
BEGIN
    SELECT RAISE(ABORT, 'users.role must be viewer, trader or admin');
END;
CREATE TRIGGER users_role_check_update BEFORE UPDATE OF role ON users
WHEN NEW.role NOT IN ('viewer', 'trader', 'admin')
BEGIN
    SELECT RAISE(ABORT, 'users.role must be viewer, trader or admin');
END;

CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    username    TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX api_keys_username_idx ON api_keys (username);
