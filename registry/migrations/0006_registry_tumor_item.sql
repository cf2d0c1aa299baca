-- Tumor items a cohort definition or export selects on that have no column of their own (biomarkers and
-- other site-specific data items: ER/PR/HER2, PSA, Gleason, KRAS, MSI, EGFR, ALK, ...): one row per registry
-- tumor and item of registry/data/cohort_items.csv with a value, chosen from the tumor's reports by
-- consolidation (registry/consolidation.py, registry_tumor_item_select) and rebuilt on every relink.
-- Existing registry tumors are filled by the store's upgrade step.
CREATE TABLE registry_tumor_item (
    tumor_id  BIGINT NOT NULL,     -- registry tumor
    naaccr_id VARCHAR NOT NULL,    -- the NAACCR item id, e.g. her2OverallSummary
    value     VARCHAR NOT NULL     -- as reported (NAACCR text), or as a registrar corrected it
);
