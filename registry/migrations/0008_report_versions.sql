-- Re-sent reports. A tumor report is named by its reporting facility (NAACCR reportingFacility, tumor level),
-- the facility's patient id number (patientIdNumber) and tumor record number (tumorRecordNumber). When a
-- facility sends a report again with the same three items and the same content, the loader adds nothing and
-- counts it as unchanged; with other content it is loaded as a newer version of the report, and every earlier
-- version still current is marked superseded here. A superseded report stays as received (its batch still
-- exports it whole) but no longer contributes to the registry's patients and tumors.

-- Records re-sent unchanged: read but neither loaded nor rejected.
-- tumors_read = tumors_loaded + tumors_rejected + tumors_unchanged (and the same for patients).
ALTER TABLE ingest_batch ADD COLUMN tumors_unchanged INTEGER DEFAULT 0;
ALTER TABLE ingest_batch ADD COLUMN patients_unchanged INTEGER DEFAULT 0;

-- One row per superseded version of a report, written by the batch that brought the next version.
CREATE TABLE source_tumor_superseded (
    tumor_id            BIGINT PRIMARY KEY,   -- the earlier version (a typed-core tumor_id)
    patient_id          BIGINT NOT NULL,      -- its source patient record
    reporting_facility  VARCHAR NOT NULL,     -- the report's key, as received
    patient_id_number   VARCHAR NOT NULL,
    tumor_record_number VARCHAR NOT NULL,
    version             INTEGER NOT NULL,     -- 1 for the first report of the key, in load order
    superseded_by       BIGINT NOT NULL,      -- the next version's tumor_id
    batch_id            INTEGER NOT NULL,     -- the batch that brought the next version
    superseded_at       TIMESTAMPTZ NOT NULL
);

-- Source patient records all of whose tumor records are superseded: they no longer contribute either.
CREATE VIEW source_patient_superseded AS
SELECT DISTINCT s.patient_id
FROM source_tumor_superseded s
WHERE NOT EXISTS (SELECT 1 FROM tumor t
                  WHERE t.patient_id = s.patient_id
                    AND t.tumor_id NOT IN (SELECT tumor_id FROM source_tumor_superseded));
