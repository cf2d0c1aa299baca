-- Analytic store, first schema: provenance, the lossless layer of source records, the typed core.

-- One row per input file we attempted to load.
CREATE TABLE ingest_batch (
    batch_id              INTEGER PRIMARY KEY,
    file_name             VARCHAR NOT NULL,
    file_size             BIGINT,
    sha256                VARCHAR NOT NULL,
    format                VARCHAR,          -- naaccr-xml, naaccr-flat, csv, excel
    naaccr_version        VARCHAR,          -- 140 ... 260
    record_type           VARCHAR,          -- A, M, C, I
    specification_version VARCHAR,          -- NAACCR XML specification version (XML only)
    dictionary_uris       VARCHAR[],        -- base and user dictionaries that applied
    root_attributes       MAP(VARCHAR, VARCHAR),
    root_items            MAP(VARCHAR, VARCHAR),  -- file-level (NaaccrData) items as received
    patients_read         INTEGER,
    patients_loaded       INTEGER,
    patients_rejected     INTEGER,
    tumors_read           INTEGER,
    tumors_loaded         INTEGER,
    tumors_rejected       INTEGER,
    warnings              INTEGER,
    extensions_skipped    INTEGER,
    status                VARCHAR NOT NULL CHECK (status IN ('loaded', 'failed')),
    message               VARCHAR,          -- why a failed file could not be read
    loaded_by             VARCHAR,
    started_at            TIMESTAMPTZ,
    finished_at           TIMESTAMPTZ
);

-- Lossless layer: source records (one facility's report) and every item exactly as received.
CREATE TABLE source_patient (
    batch_id    INTEGER NOT NULL,
    patient_seq INTEGER NOT NULL,   -- 1.. in file order
    line        BIGINT              -- where the record starts in the file
);

CREATE TABLE source_tumor (
    batch_id    INTEGER NOT NULL,
    tumor_seq   INTEGER NOT NULL,   -- 1.. in file order, across the whole file
    patient_seq INTEGER NOT NULL,
    line        BIGINT
);

CREATE TABLE source_item (
    batch_id   INTEGER NOT NULL,
    level      UTINYINT NOT NULL,   -- 1 patient, 2 tumor (file-level items: ingest_batch.root_items)
    entity_seq INTEGER NOT NULL,    -- patient_seq or tumor_seq
    naaccr_id  VARCHAR NOT NULL,
    value      VARCHAR NOT NULL
);

-- Records that were not loaded, one row per reason; the raw record is kept for the correction.
CREATE TABLE reject (
    batch_id    INTEGER NOT NULL,
    patient_seq INTEGER,
    tumor_seq   INTEGER,            -- 0 when the patient record itself was rejected
    line        BIGINT,
    naaccr_id   VARCHAR,
    rule        VARCHAR NOT NULL,   -- short name of the check, e.g. unknown-item, too-long
    reason      VARCHAR NOT NULL,
    raw_record  VARCHAR
);

-- Problems that did not stop a record from loading (flagged for review).
CREATE TABLE ingest_warning (
    batch_id    INTEGER NOT NULL,
    patient_seq INTEGER,
    tumor_seq   INTEGER,
    line        BIGINT,
    naaccr_id   VARCHAR,
    rule        VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL
);

-- Typed core: the registry's patients and tumors. Until linkage exists each source patient record is
-- its own registry patient; patient_id and tumor_id are batch_id * 2^32 + the record's sequence.
CREATE TABLE patient (
    patient_id                    BIGINT NOT NULL,
    batch_id                      INTEGER NOT NULL,
    patient_seq                   INTEGER NOT NULL,
    registry_id                   VARCHAR,
    patient_id_number             VARCHAR,
    sex                           VARCHAR,   -- NAACCR sex (<= v25) or sexAssignedAtBirth (v26): 1 male, 2 female, 3-6 other, 9 unknown
    date_of_birth                 DATE,      -- partial dates: first day of the known period ...
    date_of_birth_precision       VARCHAR,   -- ... and D (day), M (month) or Y (year known only)
    race1                         VARCHAR,
    spanish_hispanic_origin       VARCHAR,
    vital_status                  VARCHAR,   -- 0 dead, 1 alive
    date_of_last_contact          DATE,
    date_of_last_contact_precision VARCHAR,
    cause_of_death                VARCHAR
);

CREATE TABLE tumor (
    tumor_id                      BIGINT NOT NULL,
    patient_id                    BIGINT NOT NULL,
    batch_id                      INTEGER NOT NULL,
    tumor_seq                     INTEGER NOT NULL,
    tumor_record_number           VARCHAR,
    sequence_number_central       VARCHAR,
    date_of_diagnosis             DATE,
    date_of_diagnosis_precision   VARCHAR,
    diagnosis_year                SMALLINT,
    age_at_diagnosis              SMALLINT,  -- null when 999 (unknown)
    primary_site                  VARCHAR,   -- ICD-O-3 topography, e.g. C509
    histology                     VARCHAR,   -- ICD-O-3 histologic type, 4 digits
    behavior                      VARCHAR,   -- ICD-O-3 behavior 0-3
    laterality                    VARCHAR,
    grade                         VARCHAR,   -- pre-2018 grade
    grade_clinical                VARCHAR,
    grade_pathological            VARCHAR,
    diagnostic_confirmation       VARCHAR,
    type_of_reporting_source      VARCHAR,
    addr_at_dx_state              VARCHAR,
    county_at_dx                  VARCHAR,   -- 3-digit county code as reported
    county_fips                   VARCHAR,   -- 5-character state + county FIPS; null when unknown
    addr_at_dx_postal_code        VARCHAR,
    reporting_facility            VARCHAR,
    primary_payer_at_dx           VARCHAR,
    summary_stage_2018            VARCHAR,
    derived_summary_stage_2018    VARCHAR,
    seer_summary_stage_2000       VARCHAR,
    derived_ss2000                VARCHAR,
    tumor_size_summary            VARCHAR,
    regional_nodes_positive       VARCHAR,
    regional_nodes_examined       VARCHAR,
    estrogen_receptor_summary     VARCHAR,
    progesterone_recep_summary    VARCHAR,
    her2_overall_summary          VARCHAR,
    cancer_status                 VARCHAR,
    date_of_last_cancer_status    DATE,
    date_of_last_cancer_status_precision VARCHAR,
    recurrence_type_1st           VARCHAR,
    recurrence_date_1st           DATE,
    recurrence_date_1st_precision VARCHAR
);

-- First-course treatment in long form: one row per modality reported for a tumor.
CREATE TABLE treatment (
    tumor_id             BIGINT NOT NULL,
    batch_id             INTEGER NOT NULL,
    tumor_seq            INTEGER NOT NULL,
    modality             VARCHAR NOT NULL,  -- surgery, radiation, chemotherapy, hormone, immunotherapy, transplant_endocrine, other
    code                 VARCHAR NOT NULL,  -- the summary code as received
    code_item            VARCHAR NOT NULL,  -- the NAACCR item the code came from
    given                BOOLEAN,           -- true given, false not given (incl. refused/contraindicated), null unknown
    start_date           DATE,
    start_date_precision VARCHAR
);
