-- The date the registry received each source report (NAACCR item 2111 dateCaseReportReceived), and for a
-- registry tumor the earliest received date of its reports (consolidation rule "earliest report received").
-- Timeliness (days from diagnosis to receipt) is measured from these. A partial date is typed as the first
-- day of its known period and an impossible date is null, as the ingest types every other date.
ALTER TABLE tumor ADD COLUMN date_case_report_received DATE;
ALTER TABLE registry_tumor ADD COLUMN date_case_report_received DATE;

-- Source tumor records loaded before the column existed: from the item as received (source_item).
UPDATE tumor SET date_case_report_received = r.received
FROM (
    SELECT batch_id, entity_seq,
           try(make_date(
               TRY_CAST(substr(value, 1, 4) AS SMALLINT),
               CASE WHEN length(value) >= 6 AND substr(value, 5, 2) BETWEEN '01' AND '12'
                    THEN TRY_CAST(substr(value, 5, 2) AS TINYINT) ELSE 1 END,
               CASE WHEN length(value) = 8 AND substr(value, 5, 2) BETWEEN '01' AND '12'
                         AND substr(value, 7, 2) BETWEEN '01' AND '31'
                    THEN TRY_CAST(substr(value, 7, 2) AS TINYINT) ELSE 1 END)) AS received
    FROM source_item
    WHERE level = 2 AND naaccr_id = 'dateCaseReportReceived'
      AND regexp_full_match(value, '(18|19|20)[0-9]{2}([0-9]{2}([0-9]{2})?)?')
) r
WHERE tumor.batch_id = r.batch_id AND tumor.tumor_seq = r.entity_seq;

-- Registry tumors linked before the column existed: the earliest of their linked reports, with its provenance.
UPDATE registry_tumor SET date_case_report_received = e.received
FROM (
    SELECT l.registry_tumor_id, min(t.date_case_report_received) AS received
    FROM tumor_link l JOIN tumor t ON t.tumor_id = l.source_tumor_id
    GROUP BY l.registry_tumor_id
) e
WHERE registry_tumor.tumor_id = e.registry_tumor_id;

INSERT INTO consolidated_value (level, entity_id, item, source_id, rule)
SELECT 2, l.registry_tumor_id, 'date_case_report_received',
       arg_min(t.tumor_id, [coalesce(datediff('day', DATE '1900-01-01', t.date_case_report_received), 99999999),
                            t.tumor_id]),
       'earliest report received'
FROM tumor_link l JOIN tumor t ON t.tumor_id = l.source_tumor_id
WHERE l.registry_tumor_id IN (SELECT tumor_id FROM registry_tumor)
GROUP BY l.registry_tumor_id;
