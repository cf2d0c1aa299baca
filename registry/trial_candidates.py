"""The identified trial-candidate list: who a cohort definition selects, for the registry's honest broker.

A researcher sees only released counts of a trial template's candidates (`registry.cohort_counts`). A
registrar, acting as the registry's honest broker, sees the candidates themselves, to contact their
reporting facility and managing physician (who asks the patient): one row per candidate registry tumor with
the registry patient and tumor ids, name, birth date, sex, diagnosis date, site, histology, stage, the
reporting facility, the managing physician's NPI as the tumor's reports give it (`npiPhysicianManaging` in
`source_item`, reached through `tumor_link`; several reports may name several physicians) and vital status.
Names come from the person's latest report that carries one. Every list, and every CSV of it, is audited
with the definition and the row count; a refusal is audited too.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from registry.access import TRIAL_CANDIDATE_IDENTITIES, require_audited
from registry.cohort import STAGE_GROUP_SQL
from registry.cohort_definition import CohortDefinition
from registry.cohort_query import select_tumors
from registry.operational import OperationalStore
from registry.principal import Principal
from registry.privacy import audited
from registry.store import read_connection

LIST_ACTION = "trial-candidate-list"       # audit action of a list shown
CSV_ACTION = "trial-candidate-export"      # audit action of a list downloaded
PHYSICIAN_ITEM = "npiPhysicianManaging"
COLUMNS = ("patient_id", "tumor_id", "name_last", "name_first", "date_of_birth", "sex", "date_of_diagnosis",
           "primary_site", "histology", "behavior", "stage_group", "summary_stage", "reporting_facility",
           "npi_physician_managing", "vital_status")

_CANDIDATES = f"""
WITH names AS (
    SELECT pl.registry_patient_id AS patient_id,
           arg_max(i.value, p.patient_id) FILTER (WHERE i.naaccr_id = 'nameLast') AS name_last,
           arg_max(i.value, p.patient_id) FILTER (WHERE i.naaccr_id = 'nameFirst') AS name_first
    FROM patient_link pl
    JOIN patient p ON p.patient_id = pl.source_patient_id
    JOIN source_item i ON i.batch_id = p.batch_id AND i.level = 1 AND i.entity_seq = p.patient_seq
                       AND i.naaccr_id IN ('nameLast', 'nameFirst') AND trim(i.value) <> ''
    WHERE pl.registry_patient_id IN (SELECT patient_id FROM candidate_selection)
    GROUP BY pl.registry_patient_id
), physicians AS (
    SELECT l.registry_tumor_id AS tumor_id,
           string_agg(DISTINCT trim(i.value), '; ' ORDER BY trim(i.value)) AS npi_physician_managing
    FROM tumor_link l
    JOIN tumor s ON s.tumor_id = l.source_tumor_id
    JOIN source_item i ON i.batch_id = s.batch_id AND i.level = 2 AND i.entity_seq = s.tumor_seq
                       AND i.naaccr_id = ? AND trim(i.value) <> ''
    WHERE l.registry_tumor_id IN (SELECT tumor_id FROM candidate_selection)
    GROUP BY l.registry_tumor_id
)
SELECT t.patient_id, t.tumor_id, n.name_last, n.name_first, p.date_of_birth, p.sex, t.date_of_diagnosis,
       t.primary_site, t.histology, t.behavior, {STAGE_GROUP_SQL} AS stage_group,
       coalesce(t.summary_stage_2018, t.derived_summary_stage_2018, t.seer_summary_stage_2000, t.derived_ss2000)
           AS summary_stage,
       t.reporting_facility, ph.npi_physician_managing, p.vital_status
FROM registry_tumor t
JOIN registry_patient p USING (patient_id)
LEFT JOIN names n ON n.patient_id = t.patient_id
LEFT JOIN physicians ph ON ph.tumor_id = t.tumor_id
WHERE t.tumor_id IN (SELECT tumor_id FROM candidate_selection)
ORDER BY t.reporting_facility NULLS LAST, t.patient_id, t.tumor_id"""


def _candidates(db_path: Path, definition: CohortDefinition) -> pd.DataFrame:
    selection = select_tumors(db_path, definition)
    with read_connection(db_path) as con:
        con.register("candidate_selection", selection[["tumor_id", "patient_id"]])
        frame = con.execute(_CANDIDATES, [PHYSICIAN_ITEM]).df()
        con.unregister("candidate_selection")
    return frame[list(COLUMNS)]


def candidate_list(principal: Principal, db_path: Path, ops: OperationalStore,
                   definition: CohortDefinition) -> pd.DataFrame:
    """The identified candidates of `definition` (registrars only, as honest broker): one row per registry
    tumor with the columns of `COLUMNS`, sorted by reporting facility. Audited with the definition and the
    row count; a refusal is audited too."""
    require_audited(principal, TRIAL_CANDIDATE_IDENTITIES, ops, definition=definition.to_dict())
    frame = _candidates(db_path, definition)
    audited(ops, principal, LIST_ACTION, definition.to_dict(), frame)
    return frame


def candidate_list_csv(principal: Principal, db_path: Path, ops: OperationalStore,
                       definition: CohortDefinition) -> bytes:
    """The identified candidate list as CSV (UTF-8, a header of the column names) for a registrar to take
    to the facilities; audited as a download with the definition and the row count."""
    require_audited(principal, TRIAL_CANDIDATE_IDENTITIES, ops, definition=definition.to_dict(), download=True)
    frame = _candidates(db_path, definition)
    audited(ops, principal, CSV_ACTION, definition.to_dict(), frame)
    return frame.to_csv(index=False, date_format="%Y-%m-%d").encode("utf-8")
