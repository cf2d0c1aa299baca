CREATE TABLE account (
    account_id           INTEGER PRIMARY KEY,
    user_name            TEXT NOT NULL,             -- as created, shown to people
    user_key             TEXT NOT NULL UNIQUE,      -- name_key(user_name): unique case-insensitively
    display_name         TEXT NOT NULL DEFAULT '',
    role                 TEXT NOT NULL CHECK (role IN ('registrar', 'researcher', 'administrator')),
    grants               TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(grants)),  -- sorted JSON array
    password_hash        TEXT NOT NULL,             -- argon2id, PHC string with its parameters
    disabled             INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);

-- One row per sign-in attempt, for lockout and review. Keyed by the name typed (not the account), so
-- unknown names lock the same way and the lockout does not tell whether a user exists.
-- outcome: ok | bad-credentials | disabled | locked (refused unseen during a lockout) |
--          unlocked (a marker written when an administrator resets the password).
-- locked_until is set on the failed attempt that started a lockout.
CREATE TABLE sign_in_attempt (
    attempt_id   INTEGER PRIMARY KEY,
    user_key     TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    attempted_at TEXT NOT NULL,
    success      INTEGER NOT NULL CHECK (success IN (0, 1)),
    outcome      TEXT NOT NULL CHECK (outcome IN ('ok', 'bad-credentials', 'disabled', 'locked', 'unlocked')),
    source       TEXT NOT NULL DEFAULT '',
    locked_until TEXT
);
CREATE INDEX sign_in_attempt_user ON sign_in_attempt (user_key, attempted_at);

-- Saved cohort, trial-criteria and other definitions, one JSON body each.
CREATE TABLE saved_definition (
    definition_id INTEGER PRIMARY KEY,
    owner         TEXT NOT NULL,
    owner_key     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    body          TEXT NOT NULL CHECK (json_valid(body)),
    created_at    TEXT NOT NULL,
    UNIQUE (owner_key, kind, name)
);

-- The audit trail: append-only and hash-chained (see registry/audit.py).
CREATE TABLE audit_event (
    seq         INTEGER PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL CHECK (json_valid(detail)),
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_event_time ON audit_event (occurred_at);
CREATE INDEX audit_event_user ON audit_event (user_name);
CREATE INDEX audit_event_action ON audit_event (action);

-- Append-only inside SQLite. Anyone with write access to the file can drop or replace these triggers:
-- that is why every event also carries the MAC of the one before it, and why registry.audit.verify_chain
-- compares these triggers' text with this migration's.
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: events cannot be changed');
END;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: events cannot be deleted');
END;
-- A new event must extend the chain: next sequence number, previous event's hash.
CREATE TRIGGER audit_event_extends_chain BEFORE INSERT ON audit_event
WHEN NEW.seq IS NOT coalesce((SELECT max(seq) FROM audit_event), 0) + 1
  OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1),
                                   '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN
    SELECT RAISE(ABORT, 'an audit event must extend the chain (next seq, previous hash)');
END;
