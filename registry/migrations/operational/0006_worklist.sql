-- The discrepancy worklist (registry.worklist): one work item per registry tumor that has an error-level
-- edit failure or an open linkage or multiple-primary question, followed from open to resolved. Every
-- transition is an event here and in the audit trail.
CREATE TABLE work_item (
    work_item_id      INTEGER PRIMARY KEY,
    registry_tumor_id INTEGER NOT NULL,
    registry_patient_id INTEGER,
    facility          TEXT,                 -- the reporting facility a query goes to
    status            TEXT NOT NULL CHECK (status IN ('open', 'queried', 'answered', 'resolved', 'closed-valid')),
    priority          INTEGER NOT NULL,     -- 1 changes incidence counts (site, histology, behavior, date, residence, linkage); 2 other errors
    issues            TEXT NOT NULL DEFAULT '[]',  -- JSON list: the failing edits and open questions
    assignee          TEXT,
    due_date          TEXT,
    override_flag     TEXT,                 -- the NAACCR override flag set when closed as valid
    query_text        TEXT,
    answer_text       TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    closed_at         TEXT
);
-- At most one unfinished work item per registry tumor.
CREATE UNIQUE INDEX work_item_open_tumor ON work_item (registry_tumor_id)
    WHERE status NOT IN ('resolved', 'closed-valid');
CREATE INDEX work_item_status ON work_item (status, priority);

CREATE TABLE work_item_event (
    event_id     INTEGER PRIMARY KEY,
    work_item_id INTEGER NOT NULL REFERENCES work_item (work_item_id),
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    actor        TEXT NOT NULL,
    at           TEXT NOT NULL,
    note         TEXT
);
CREATE INDEX work_item_event_item ON work_item_event (work_item_id);
