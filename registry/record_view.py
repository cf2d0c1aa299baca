"""A registry patient's whole record, as a registrar reads it before deciding or correcting anything.

One call gathers: the registry patient and all its tumors with every consolidated value, the report it came
from and the rule that chose it (or the correction that set it); every source report of the patient as
received (all lossless items, facility, file, batch and when it was loaded, and for a report its facility
re-sent with other content its version and the report that superseded it) side by side; first-course
treatment with the report each row came from; follow-up; the edit failures of the tumors and their reports;
how each report was linked (method, match weight, multiple-primary rule) and the reviewers' decisions about
them; the history of corrections; and the work items of its tumors. Reading a record is a registrar's right:
every view is audited with the patient and its tumors, and a refused request is audited too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.access import RECORD_VIEW, require_audited
from registry.audit import record_event
from registry.correctable_items import CORRECTION_RULE, PATIENT, TUMOR, correctable_items
from registry.corrections import Correction, history
from registry.errors import InvalidRequest
from registry.link_review import ReviewItem, reviews_naming
from registry.linkage_store import PATIENT_KEYS, TUMOR_FACTS
from registry.operational import OperationalStore
from registry.principal import Principal
from registry.store import read_connection
from registry.worklist import tumor_work_items

Row = dict[str, Any]
FOLLOW_UP_PATIENT = ("vital_status", "date_of_last_contact", "date_of_last_contact_precision", "cause_of_death")
FOLLOW_UP_TUMOR = ("cancer_status", "date_of_last_cancer_status", "recurrence_type_1st", "recurrence_date_1st")


@dataclass(frozen=True)
class ConsolidatedValue:
    """One value of a registry entity: the column, its NAACCR item, the value, the report it came from (None
    when a correction set it) and the rule, with the correction that set it."""

    level: int
    entity_id: int
    column: str
    naaccr_item: str | None
    value: str | None
    source_id: int | None
    rule: str
    correction_id: int | None = None


@dataclass(frozen=True)
class ReceivedReport:
    """One source report as received: a source tumor record with its source patient record's items."""

    source_tumor_id: int | None         # None for a patient record without a tumor
    source_patient_id: int
    registry_tumor_id: int | None
    facility: str | None
    batch_id: int
    file_name: str
    received_at: str | None
    natural_key: str
    items: dict[str, str] = field(default_factory=dict)
    version: int = 1                    # of a report its facility re-sent with other content: 1, 2, ...
    superseded_by: int | None = None    # the source tumor of its next version (then it no longer counts)


@dataclass(frozen=True)
class TumorRecord:
    """A registry tumor: its values with their provenance, treatment, edit failures, links and work items."""

    tumor_id: int
    values: Row
    provenance: list[ConsolidatedValue]
    treatment: list[Row]
    edit_failures: list[Row]
    links: list[Row]
    work_items: list[Row]

    @property
    def follow_up(self) -> Row:
        """Cancer status and first recurrence."""
        return {name: self.values.get(name) for name in FOLLOW_UP_TUMOR}


@dataclass(frozen=True)
class PatientRecord:
    """A registry patient's whole record (see the module doc)."""

    patient_id: int
    values: Row
    provenance: list[ConsolidatedValue]
    tumors: list[TumorRecord]
    reports: list[ReceivedReport]
    links: list[Row]
    reviews: list[ReviewItem]
    corrections: list[Correction]

    @property
    def follow_up(self) -> Row:
        """Vital status, date of last contact and cause of death."""
        return {name: self.values.get(name) for name in FOLLOW_UP_PATIENT}

    def tumor(self, tumor_id: int) -> TumorRecord:
        """One of the patient's tumors; InvalidRequest when it is not one of them."""
        for tumor in self.tumors:
            if tumor.tumor_id == tumor_id:
                return tumor
        raise InvalidRequest(f"registry tumor {tumor_id} is not a tumor of registry patient {self.patient_id}")

    def differing_items(self, registry_tumor_id: int | None = None) -> set[str]:
        """Items whose values differ between the reports (of one registry tumor, or of the whole patient)."""
        reports = [r for r in self.reports if registry_tumor_id is None or r.registry_tumor_id == registry_tumor_id]
        names = {name for report in reports for name in report.items}
        return {name for name in names if len({report.items.get(name, "") for report in reports}) > 1}


def _rows(con: Any, sql: str, parameters: list[Any]) -> list[Row]:
    cursor = con.execute(sql, parameters)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _patient_of(con: Any, patient_id: int | None, tumor_id: int | None) -> int:
    """The registry patient asked for, or the one a registry tumor belongs to."""
    if tumor_id is not None and patient_id is None:
        found = con.execute("SELECT patient_id FROM registry_tumor WHERE tumor_id = ?", [tumor_id]).fetchall()
        if not found:
            raise InvalidRequest(f"there is no registry tumor {tumor_id}")
        return int(found[0][0])
    if patient_id is not None and tumor_id is None:
        if not con.execute("SELECT 1 FROM registry_patient WHERE patient_id = ?", [patient_id]).fetchall():
            raise InvalidRequest(f"there is no registry patient {patient_id}")
        return int(patient_id)
    raise InvalidRequest("give exactly one of a registry patient id and a registry tumor id")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _provenance(con: Any, level: int, ids: list[int], values: dict[int, Row],
                corrections: list[Correction]) -> dict[int, list[ConsolidatedValue]]:
    """Each entity's consolidated values with their report and rule, and the correction behind a corrected one."""
    items = correctable_items()
    item_of: dict[str, str] = {}          # a value's own column -> its NAACCR item (precisions, years: none)
    for name, item in items.items():
        if item.level == level and item.columns:
            item_of.setdefault(item.columns[0], name)
    latest: dict[tuple[int, str], Correction] = {}
    for earlier in corrections:            # newest first: keep the first of each column
        if earlier.level == level and earlier.item in items:
            for column in items[earlier.item].columns or (earlier.item,):
                latest.setdefault((earlier.entity_id, column), earlier)
    found: dict[int, list[ConsolidatedValue]] = {i: [] for i in ids}
    for row in _rows(con, "SELECT entity_id, item, source_id, rule FROM consolidated_value WHERE level = ? AND "
                          "list_contains(?, entity_id) ORDER BY entity_id, item", [level, ids]):
        entity, column = int(row["entity_id"]), str(row["item"])
        correction = latest.get((entity, column)) if row["rule"] == CORRECTION_RULE else None
        found[entity].append(ConsolidatedValue(
            level, entity, column, item_of.get(column), _text(values[entity].get(column)),
            None if row["source_id"] is None else int(row["source_id"]), str(row["rule"]),
            correction.correction_id if correction else None))
    return found


_REPORTS = f"""
    SELECT t.tumor_id AS source_tumor_id, p.patient_id AS source_patient_id, tl.registry_tumor_id,
           t.reporting_facility AS facility, p.batch_id, b.file_name,
           strftime(b.finished_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M UTC') AS received_at,
           coalesce(f.natural_key, k.natural_key) AS natural_key, p.patient_seq, t.tumor_seq,
           coalesce(s.version, n.version + 1, 1) AS version, s.superseded_by
    FROM patient_link pl
    JOIN patient p ON p.patient_id = pl.source_patient_id
    JOIN ingest_batch b ON b.batch_id = p.batch_id
    JOIN ({PATIENT_KEYS}) k ON k.source_patient_id = p.patient_id
    LEFT JOIN tumor t ON t.patient_id = p.patient_id
    LEFT JOIN tumor_link tl ON tl.source_tumor_id = t.tumor_id
    LEFT JOIN ({TUMOR_FACTS}) f ON f.source_tumor_id = t.tumor_id
    LEFT JOIN source_tumor_superseded s ON s.tumor_id = t.tumor_id
    LEFT JOIN source_tumor_superseded n ON n.superseded_by = t.tumor_id
    WHERE pl.registry_patient_id = ?
    ORDER BY b.finished_at, p.patient_id, t.tumor_id"""


def _reports(con: Any, patient_id: int) -> tuple[list[ReceivedReport], list[str]]:
    """The patient's reports as received, and the natural keys of its source patient and tumor records."""
    rows = _rows(con, _REPORTS, [patient_id])
    items = _rows(con, """SELECT i.batch_id, i.level, i.entity_seq, i.naaccr_id, i.value FROM source_item i
                          JOIN patient p ON p.batch_id = i.batch_id
                          JOIN patient_link pl ON pl.source_patient_id = p.patient_id
                          LEFT JOIN tumor t ON t.batch_id = i.batch_id AND t.patient_id = p.patient_id
                          WHERE pl.registry_patient_id = ?
                            AND ((i.level = 1 AND i.entity_seq = p.patient_seq)
                                 OR (i.level = 2 AND i.entity_seq = t.tumor_seq))""", [patient_id])
    by_entity: dict[tuple[int, int, int], dict[str, str]] = {}
    for row in items:
        by_entity.setdefault((row["batch_id"], row["level"], row["entity_seq"]), {})[row["naaccr_id"]] = row["value"]
    keys = {str(k) for (k,) in con.execute(f"SELECT natural_key FROM ({PATIENT_KEYS}) WHERE source_patient_id IN "
                                           "(SELECT source_patient_id FROM patient_link WHERE registry_patient_id = ?)",
                                           [patient_id]).fetchall()}
    reports = []
    for row in rows:
        patient_items = by_entity.get((row["batch_id"], 1, row["patient_seq"]), {})
        tumor_items = {} if row["tumor_seq"] is None else by_entity.get((row["batch_id"], 2, row["tumor_seq"]), {})
        keys.add(str(row["natural_key"]))
        reports.append(ReceivedReport(
            None if row["source_tumor_id"] is None else int(row["source_tumor_id"]), int(row["source_patient_id"]),
            None if row["registry_tumor_id"] is None else int(row["registry_tumor_id"]), row["facility"],
            int(row["batch_id"]), str(row["file_name"]), row["received_at"], str(row["natural_key"]),
            {**patient_items, **tumor_items}, int(row["version"]),
            None if row["superseded_by"] is None else int(row["superseded_by"])))
    return reports, sorted(keys)


def patient_record(principal: Principal, db_path: Path, ops: OperationalStore, *, patient_id: int | None = None,
                   tumor_id: int | None = None) -> PatientRecord:
    """The whole record of a registry patient, or of the patient a registry tumor belongs to (registrars only;
    every view audited as `record-view`, a refusal as `access-refused`)."""
    require_audited(principal, RECORD_VIEW, ops, patient_id=patient_id, tumor_id=tumor_id)
    with read_connection(db_path) as con:
        patient = _patient_of(con, patient_id, tumor_id)
        [values] = _rows(con, "SELECT * FROM registry_patient WHERE patient_id = ?", [patient])
        tumors = _rows(con, "SELECT * FROM registry_tumor WHERE patient_id = ? "
                            "ORDER BY date_of_diagnosis NULLS LAST, tumor_id", [patient])
        ids = [int(t["tumor_id"]) for t in tumors]
        corrections = sorted(history(con, PATIENT, [patient]) + history(con, TUMOR, ids),
                             key=lambda c: (c.corrected_at, c.correction_id), reverse=True)
        patient_values = _provenance(con, PATIENT, [patient], {patient: values}, corrections)[patient]
        tumor_values = _provenance(con, TUMOR, ids, {int(t["tumor_id"]): t for t in tumors}, corrections)
        reports, keys = _reports(con, patient)
        by_tumor: dict[str, dict[int, list[Row]]] = {name: {i: [] for i in ids} for name in ("treatment", "edits", "links")}
        for row in _rows(con, "SELECT * FROM registry_treatment WHERE list_contains(?, tumor_id) "
                              "ORDER BY tumor_id, modality", [ids]):
            by_tumor["treatment"][int(row["tumor_id"])].append(row)
        for row in _rows(con, """SELECT coalesce(l.registry_tumor_id, f.record_id) AS registry_tumor_id, f.*
                                 FROM edit_failure f LEFT JOIN tumor_link l
                                   ON f.level = 2 AND l.source_tumor_id = f.record_id
                                 WHERE (f.level = 3 AND list_contains(?, f.record_id))
                                    OR (f.level = 2 AND list_contains(?, l.registry_tumor_id))
                                 ORDER BY f.severity, f.edit_id""", [ids, ids]):
            by_tumor["edits"][int(row.pop("registry_tumor_id"))].append(row)
        for row in _rows(con, "SELECT * FROM tumor_link WHERE list_contains(?, registry_tumor_id) "
                              "ORDER BY registry_tumor_id, source_tumor_id", [ids]):
            by_tumor["links"][int(row["registry_tumor_id"])].append(row)
        links = _rows(con, "SELECT * EXCLUDE (comparison_weights) FROM patient_link WHERE registry_patient_id = ? "
                           "ORDER BY source_patient_id", [patient])
    work = {tumor: [vars(item) for item in items] for tumor, items in tumor_work_items(ops, ids).items()}
    record = PatientRecord(
        patient, values, patient_values,
        [TumorRecord(i, t, tumor_values[i], by_tumor["treatment"][i], by_tumor["edits"][i], by_tumor["links"][i],
                     work[i]) for i, t in zip(ids, tumors, strict=True)],
        reports, links, reviews_naming(ops, principal, keys), corrections)
    record_event(ops, principal, "record-view", purpose="record", patient_id=patient, tumors=ids,
                 reports=len(reports))
    return record
