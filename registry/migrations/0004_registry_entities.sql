-- Registry entities: each person once, each cancer once. Source records (patient, tumor, treatment and the
-- lossless layer) are never changed; linkage links every source record to a registry entity and the
-- registry entities hold the values consolidated from their reports. Statistics count registry entities.

-- One row per registry patient; values consolidated from the patient's source records.
CREATE TABLE registry_patient (
    patient_id                     BIGINT PRIMARY KEY,   -- registry patient id, stable across relinks
    reports                        INTEGER NOT NULL,     -- source patient records linked to it
    sex                            VARCHAR,
    date_of_birth                  DATE,
    date_of_birth_precision        VARCHAR,
    race1                          VARCHAR,
    spanish_hispanic_origin        VARCHAR,
    vital_status                   VARCHAR,              -- from the latest report of the patient
    date_of_last_contact           DATE,
    date_of_last_contact_precision VARCHAR,
    cause_of_death                 VARCHAR
);

-- One row per registry tumor (a primary cancer); the same analytic columns as the source `tumor` table,
-- each chosen from the tumor's reports by the consolidation rules (registry/consolidation.py).
CREATE TABLE registry_tumor (
    tumor_id                      BIGINT PRIMARY KEY,    -- registry tumor id, stable across relinks
    patient_id                    BIGINT NOT NULL,       -- registry patient
    reports                       INTEGER NOT NULL,      -- source tumor records linked to it
    sequence_number_central       VARCHAR,               -- assigned per registry patient in diagnosis order
    date_of_diagnosis             DATE,
    date_of_diagnosis_precision   VARCHAR,
    diagnosis_year                SMALLINT,
    age_at_diagnosis              SMALLINT,
    primary_site                  VARCHAR,
    histology                     VARCHAR,
    behavior                      VARCHAR,
    laterality                    VARCHAR,
    grade                         VARCHAR,
    grade_clinical                VARCHAR,
    grade_pathological            VARCHAR,
    diagnostic_confirmation       VARCHAR,
    type_of_reporting_source      VARCHAR,
    addr_at_dx_state              VARCHAR,
    county_at_dx                  VARCHAR,
    county_fips                   VARCHAR,
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
    recurrence_date_1st_precision VARCHAR,
    site_recode                   VARCHAR
);

-- First-course treatment of a registry tumor: the union of its reports, one row per modality (given when
-- any report says given, the earliest start date), with the report the row came from.
CREATE TABLE registry_treatment (
    tumor_id             BIGINT NOT NULL,   -- registry tumor
    modality             VARCHAR NOT NULL,
    code                 VARCHAR NOT NULL,
    code_item            VARCHAR NOT NULL,
    given                BOOLEAN,
    start_date           DATE,
    start_date_precision VARCHAR,
    source_tumor_id      BIGINT NOT NULL    -- the source tumor record (tumor.tumor_id) the row came from
);

-- How every source patient record was linked to its registry patient.
CREATE TABLE patient_link (
    source_patient_id   BIGINT PRIMARY KEY, -- patient.patient_id (batch_id * 2^32 + patient_seq)
    registry_patient_id BIGINT NOT NULL,
    method              VARCHAR NOT NULL CHECK (method IN ('new', 'deterministic', 'probabilistic', 'reviewer')),
    linked_to           BIGINT,             -- the source patient record whose match linked it
    match_weight        DOUBLE,             -- probabilistic: the pair's Fellegi-Sunter match weight
    comparison_weights  MAP(VARCHAR, DOUBLE), -- probabilistic: the weight of each comparison
    model_version       INTEGER,
    decided_by          VARCHAR,            -- the reviewer, or the user who ran the linkage
    decided_at          TIMESTAMPTZ NOT NULL
);

-- How every source tumor record was linked to its registry tumor.
CREATE TABLE tumor_link (
    source_tumor_id   BIGINT PRIMARY KEY,   -- tumor.tumor_id
    registry_tumor_id BIGINT NOT NULL,
    method            VARCHAR NOT NULL CHECK (method IN ('new', 'rule', 'reviewer')),
    linked_to         BIGINT,               -- the source tumor record it was judged the same tumor as
    rule_set          VARCHAR,              -- e.g. Solid Tumor Rules 2018+: Breast
    rule              VARCHAR,              -- the rule step that decided, e.g. M10
    decided_by        VARCHAR,
    decided_at        TIMESTAMPTZ NOT NULL
);

-- Candidate pairs of source patient records: every pair the model scored at or above its lower threshold and
-- every deterministic pair. The partition into registry patients is computed from these pairs and the
-- reviewers' decisions, so it does not depend on the order in which files arrived.
CREATE TABLE patient_pair (
    left_id             BIGINT NOT NULL,     -- source patient ids, left_id < right_id
    right_id            BIGINT NOT NULL,
    method              VARCHAR NOT NULL CHECK (method IN ('deterministic', 'probabilistic')),
    match_weight        DOUBLE,
    comparison_weights  MAP(VARCHAR, DOUBLE),
    model_version       INTEGER
);

-- Which report each consolidated value came from and by which rule.
CREATE TABLE consolidated_value (
    level           UTINYINT NOT NULL,      -- 1 registry patient, 2 registry tumor
    entity_id       BIGINT NOT NULL,        -- registry patient or tumor id
    item            VARCHAR NOT NULL,       -- the column of registry_patient / registry_tumor
    source_id       BIGINT,                 -- the source patient or tumor record the value came from
    rule            VARCHAR NOT NULL
);

-- Trained linkage models (Fellegi-Sunter m/u parameters as splink settings), versioned.
CREATE TABLE linkage_model (
    version          INTEGER PRIMARY KEY,
    settings         VARCHAR NOT NULL,      -- the model as JSON
    upper_threshold  DOUBLE NOT NULL,       -- match weight at or above: linked
    lower_threshold  DOUBLE NOT NULL,       -- below: a new patient; between: review
    records          INTEGER NOT NULL,      -- source patient records it was trained on
    trained_by       VARCHAR,
    trained_at       TIMESTAMPTZ NOT NULL
);
