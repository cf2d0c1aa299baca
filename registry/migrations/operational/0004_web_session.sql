-- Dashboard sessions (registry.sessions): the SHA-256 of each token's random part, never the token itself.
-- A session ends when revoked (sign-out, account disabled, password set) or after its idle or absolute limit.
CREATE TABLE web_session (
    session_hash   TEXT PRIMARY KEY,
    user_key       TEXT NOT NULL,
    user_name      TEXT NOT NULL,
    source         TEXT NOT NULL DEFAULT '',
    started_at     TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    revoked_at     TEXT,
    revoked_reason TEXT
);
CREATE INDEX web_session_user ON web_session (user_key, revoked_at);
