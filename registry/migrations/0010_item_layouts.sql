-- Item layouts. A file's records repeat a few lists of naaccrIds over and over (100,000 synthetic tumors:
-- 694 distinct lists, 2 among 79,945 patients), yet the packed naaccrIds were most of what a load wrote
-- (181 MB of text for 100,000 tumors, against 35.5 MB of values). Each distinct list of naaccrIds of a
-- batch and level, in the order received and joined with U+001F as before, is now stored once as a layout,
-- numbered 1.. within its batch and level; each source record names its layout and keeps its values
-- (`item_values`, unchanged). A record without items has no layout (NULL) and NULL values.
CREATE TABLE source_item_layout (
    batch_id   INTEGER NOT NULL,
    level      UTINYINT NOT NULL,   -- 1 patient, 2 tumor
    layout_seq INTEGER NOT NULL,    -- 1.. within the batch and level
    naaccr_ids VARCHAR NOT NULL     -- the naaccrIds in the order received, joined with U+001F
);

-- Records loaded before: their batch's distinct lists, numbered in the order of their first record.
INSERT INTO source_item_layout
SELECT batch_id, level, row_number() OVER (PARTITION BY batch_id, level ORDER BY first_seq) AS layout_seq, naaccr_ids
FROM (SELECT batch_id, 1::UTINYINT AS level, naaccr_ids, min(patient_seq) AS first_seq
      FROM source_patient WHERE naaccr_ids IS NOT NULL GROUP BY batch_id, naaccr_ids
      UNION ALL
      SELECT batch_id, 2::UTINYINT AS level, naaccr_ids, min(tumor_seq) AS first_seq
      FROM source_tumor WHERE naaccr_ids IS NOT NULL GROUP BY batch_id, naaccr_ids);

ALTER TABLE source_patient ADD COLUMN layout_seq INTEGER;
ALTER TABLE source_tumor ADD COLUMN layout_seq INTEGER;
UPDATE source_patient SET layout_seq = l.layout_seq FROM source_item_layout l
WHERE l.batch_id = source_patient.batch_id AND l.level = 1 AND l.naaccr_ids = source_patient.naaccr_ids;
UPDATE source_tumor SET layout_seq = l.layout_seq FROM source_item_layout l
WHERE l.batch_id = source_tumor.batch_id AND l.level = 2 AND l.naaccr_ids = source_tumor.naaccr_ids;

DROP VIEW source_item;
ALTER TABLE source_patient DROP COLUMN naaccr_ids;
ALTER TABLE source_tumor DROP COLUMN naaccr_ids;

-- Every item of every loaded source record, one row each (file-level items: ingest_batch.root_items): the
-- same columns and rows as before, each record's naaccrIds now read from its layout.
CREATE VIEW source_item AS
SELECT s.batch_id, 1::UTINYINT AS level, s.patient_seq AS entity_seq,
       unnest(string_split(l.naaccr_ids, chr(31))) AS naaccr_id,
       unnest(string_split(s.item_values, chr(31))) AS value
FROM source_patient s
JOIN source_item_layout l ON l.batch_id = s.batch_id AND l.level = 1 AND l.layout_seq = s.layout_seq
UNION ALL
SELECT s.batch_id, 2::UTINYINT AS level, s.tumor_seq AS entity_seq,
       unnest(string_split(l.naaccr_ids, chr(31))) AS naaccr_id,
       unnest(string_split(s.item_values, chr(31))) AS value
FROM source_tumor s
JOIN source_item_layout l ON l.batch_id = s.batch_id AND l.level = 2 AND l.layout_seq = s.layout_seq;
