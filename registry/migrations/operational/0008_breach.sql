-- Breach detection (registry.breach): the thresholds an administrator set for the rules over the audit trail
-- (a rule without a row uses its documented defaults), the alerts the rules raised, and how far detection has
-- read the trail. Alerts are never deleted; an administrator acknowledges them or contains the account.
CREATE TABLE breach_rule (
    rule     TEXT PRIMARY KEY,
    settings TEXT NOT NULL,            -- JSON object: the rule's thresholds
    set_by   TEXT NOT NULL,
    set_at   TEXT NOT NULL
);

CREATE TABLE breach_alert (
    alert_id     INTEGER PRIMARY KEY,
    rule         TEXT NOT NULL,
    user_name    TEXT NOT NULL,        -- as the audit trail names the user
    user_key     TEXT NOT NULL,        -- name_key(user_name)
    window_start TEXT NOT NULL,        -- the events behind the alert, first to last (UTC timestamps)
    window_end   TEXT NOT NULL,
    event_count  INTEGER NOT NULL,
    evidence     TEXT NOT NULL,        -- JSON object: thresholds applied, sequence numbers, totals
    raised_at    TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'contained')),
    decided_by   TEXT,
    decided_at   TEXT,
    note         TEXT
);
CREATE INDEX breach_alert_user ON breach_alert (user_key, rule, window_end);
CREATE INDEX breach_alert_status ON breach_alert (status, alert_id);

-- One row: the last audit event detection has read. A store gaining this table starts from the trail's
-- current end, so installing detection does not raise alerts about the past.
CREATE TABLE breach_scan (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq   INTEGER NOT NULL,
    scanned_at TEXT NOT NULL
);
INSERT INTO breach_scan (id, last_seq, scanned_at)
SELECT 1, coalesce(max(seq), 0), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') FROM audit_event;
