-- Governed cohort export (registry.export_requests): a limited-data-set export, or one above the
-- administrator's size limit, is a request an administrator approves (with a data use agreement
-- reference) or refuses (with a reason); an approved request is used by one export, of the data vintage
-- it was made on. Every request and decision is also an audit event.
CREATE TABLE export_request (
    id            INTEGER PRIMARY KEY,
    requester     TEXT NOT NULL,
    requester_key TEXT NOT NULL,         -- name_key(requester)
    definition    TEXT NOT NULL,         -- the cohort definition, canonical JSON
    variables     TEXT NOT NULL,         -- JSON list of NAACCR item ids, in column order
    format        TEXT NOT NULL CHECK (format IN ('csv', 'parquet', 'xlsx')),
    kind          TEXT NOT NULL CHECK (kind IN ('safe_harbor', 'limited_data_set')),
    k             INTEGER,               -- Safe Harbor: the k-anonymity asked for
    row_count     INTEGER NOT NULL,      -- tumors selected when requested
    data_vintage  TEXT,                  -- registry.cohort.data_vintage when requested
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'refused', 'exported')),
    decided_by    TEXT,
    decided_at    TEXT,
    reason        TEXT,                  -- why it was refused (or a note on the approval)
    dua_reference TEXT,                  -- the data use agreement an approval rests on
    created_at    TEXT NOT NULL,
    exported_at   TEXT
);
CREATE INDEX export_request_requester ON export_request (requester_key, status);
CREATE INDEX export_request_status ON export_request (status);

-- Registry-wide settings an administrator sets (export_row_limit, export_k).
CREATE TABLE registry_setting (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);
