-- Linkage review (registry.link_review): pairs of source records the linkage could not decide, and the
-- reviewers' decisions. Records are named by natural keys that survive relinks and re-ingests: a patient
-- record by its reporting facility and the facility's patient id number, a tumor record by those and the
-- tumor record number (or, lacking them, by its file's SHA-256 and place in the file).
CREATE TABLE link_review (
    review_id      INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('patient', 'tumor')),
    left_key       TEXT NOT NULL,          -- the smaller natural key of the pair
    right_key      TEXT NOT NULL,
    score          REAL,                   -- patient pairs: the match weight; tumor pairs: null
    evidence       TEXT NOT NULL DEFAULT '{}',  -- JSON: per-comparison weights, or the rule that was unsure
    status         TEXT NOT NULL CHECK (status IN ('pending', 'decided')),
    decision       TEXT CHECK (decision IN ('same', 'different')),
    reason         TEXT,
    decided_by     TEXT,
    decided_at     TEXT,
    queued_at      TEXT NOT NULL,
    UNIQUE (kind, left_key, right_key)
);
CREATE INDEX link_review_status ON link_review (status, kind);
