-- Coding edits and registry-level corrections. Source records are never changed: an edit failure names
-- the record it was found on, and a correction is a registry-level value that overrides the consolidated
-- one for a registry patient or tumor.

-- One row per run of an edit set (after an ingest, on demand, or after a correction).
CREATE TABLE edit_run (
    run_id        INTEGER PRIMARY KEY,
    edit_set      VARCHAR NOT NULL,        -- e.g. incoming, publication
    scope         VARCHAR NOT NULL,        -- all | batch:<id>,... | tumor:<registry tumor id>,...
    edits_version VARCHAR NOT NULL,        -- digest of the edit definitions and code lists that ran
    run_by        VARCHAR,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    reports       BIGINT NOT NULL DEFAULT 0,  -- source tumor reports edited
    tumors        BIGINT NOT NULL DEFAULT 0,  -- registry tumors edited
    failures      BIGINT NOT NULL DEFAULT 0
);

-- The current failures: a run replaces the failures of its edit set on the records it covers, so a record
-- of the run's scope with no row here passed every edit of the set.
CREATE TABLE edit_failure (
    level       UTINYINT NOT NULL,        -- 2 source tumor report (tumor.tumor_id), 3 registry tumor
    record_id   BIGINT NOT NULL,          -- tumor.tumor_id or registry_tumor.tumor_id
    edit_id     VARCHAR NOT NULL,
    edit_set    VARCHAR NOT NULL,
    severity    VARCHAR NOT NULL CHECK (severity IN ('error', 'warning')),
    items       VARCHAR NOT NULL,         -- the NAACCR items the edit reads, comma-separated
    item_values VARCHAR NOT NULL,         -- their values as edited, "item=value; ..."
    message     VARCHAR NOT NULL,
    run_id      INTEGER NOT NULL
);
CREATE INDEX edit_failure_record ON edit_failure (level, record_id);

-- Registry-level corrections of consolidated values (and override flags set when a reviewer closes an edit
-- as valid). The latest correction of an item is the value statistics, exports and the record view use;
-- consolidation applies it again on every relink.
CREATE TABLE registry_correction (
    correction_id BIGINT PRIMARY KEY,
    level         UTINYINT NOT NULL,      -- 1 registry patient, 2 registry tumor
    entity_id     BIGINT NOT NULL,        -- registry patient or tumor id
    item          VARCHAR NOT NULL,       -- the NAACCR item id (one that feeds a registry column, or an override flag)
    old_value     VARCHAR,
    new_value     VARCHAR,
    reason        VARCHAR NOT NULL,
    work_item_id  BIGINT,                 -- the work item it answers (operational store), if any
    corrected_by  VARCHAR NOT NULL,
    corrected_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX registry_correction_entity ON registry_correction (level, entity_id);
