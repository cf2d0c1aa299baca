-- SEER Site Recode (ICD-O-3 2023 revision) of each tumor, derived at load from site, histology, behavior
-- and diagnosis year (registry/site_recode.py); existing rows are filled by the store's upgrade step.
ALTER TABLE tumor ADD COLUMN site_recode VARCHAR;
