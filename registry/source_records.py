"""Source reports as received, for the registry specialist who compares or reviews them.

A linkage reviewer sees the two records of a pair side by side: every item of each report exactly as the
facility sent it (from the lossless layer), with the items that differ marked. Reading identified records
is a registrar's right and every read is audited with the records shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from registry.access import require
from registry.audit import record_event
from registry.errors import InvalidRequest
from registry.link_review import ReviewItem, review_item
from registry.linkage_store import PATIENT_KEYS, TUMOR_FACTS
from registry.operational import OperationalStore
from registry.principal import Principal
from registry.store import read_connection

# Items a reviewer compares first: who the person is, then what the tumor is.
IDENTITY_ITEMS = ("nameLast", "nameFirst", "nameMiddle", "nameBirthSurname", "nameSuffix", "dateOfBirth",
                  "socialSecurityNumber", "sex", "sexAssignedAtBirth", "race1", "spanishHispanicOrigin",
                  "patientIdNumber", "medicalRecordNumber", "addrAtDxStreet", "addrAtDxCity", "addrAtDxState",
                  "addrAtDxPostalCode", "countyAtDx", "dateOfLastContact", "vitalStatus")
TUMOR_ITEMS = ("reportingFacility", "tumorRecordNumber", "dateOfDiagnosis", "primarySite", "laterality",
               "histologicTypeIcdO3", "behaviorCodeIcdO3", "diagnosticConfirmation", "typeOfReportingSource",
               "sequenceNumberCentral", "sequenceNumberHospital")


@dataclass(frozen=True)
class SourceReport:
    """One source record as received: its items (patient items, then the tumor items when a tumor)."""

    natural_key: str
    source_id: int
    file_name: str
    batch_id: int
    registry_id: int | None             # the registry patient (or tumor) it is linked to
    items: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PairView:
    """A review pair with its two sides' reports and the items on which they differ."""

    item: ReviewItem
    left: list[SourceReport]
    right: list[SourceReport]
    differing: tuple[str, ...]


def _items(con: duckdb.DuckDBPyConnection, level: int, batch_id: int, seq: int) -> dict[str, str]:
    rows = con.execute("SELECT naaccr_id, value FROM source_item WHERE batch_id = ? AND level = ? AND entity_seq = ?",
                       [batch_id, level, seq]).fetchall()
    return {str(k): str(v) for k, v in rows}


def _patient_reports(con: duckdb.DuckDBPyConnection, key: str) -> list[SourceReport]:
    rows = con.execute(f"""
        SELECT k.source_patient_id, p.batch_id, p.patient_seq, b.file_name, l.registry_patient_id
        FROM ({PATIENT_KEYS}) k
        JOIN patient p ON p.patient_id = k.source_patient_id
        JOIN ingest_batch b ON b.batch_id = p.batch_id
        LEFT JOIN patient_link l ON l.source_patient_id = k.source_patient_id
        WHERE k.natural_key = ? ORDER BY k.source_patient_id""", [key]).fetchall()
    reports = []
    for source_id, batch_id, seq, file_name, registry_id in rows:
        items = _items(con, 1, batch_id, seq)
        first_tumor = con.execute("SELECT min(tumor_seq) FROM tumor WHERE batch_id = ? AND patient_id = ?",
                                  [batch_id, source_id]).fetchall()[0][0]
        if first_tumor is not None:   # the facility and address items sit on the tumor record
            items.update({k: v for k, v in _items(con, 2, batch_id, first_tumor).items() if k in IDENTITY_ITEMS
                          or k == "reportingFacility"})
        reports.append(SourceReport(key, int(source_id), str(file_name), int(batch_id),
                                    None if registry_id is None else int(registry_id), items))
    return reports


def _tumor_reports(con: duckdb.DuckDBPyConnection, key: str) -> list[SourceReport]:
    rows = con.execute(f"""
        SELECT f.source_tumor_id, t.batch_id, t.tumor_seq, p.patient_seq, b.file_name, l.registry_tumor_id
        FROM ({TUMOR_FACTS}) f
        JOIN tumor t ON t.tumor_id = f.source_tumor_id
        JOIN patient p ON p.patient_id = t.patient_id
        JOIN ingest_batch b ON b.batch_id = t.batch_id
        LEFT JOIN tumor_link l ON l.source_tumor_id = f.source_tumor_id
        WHERE f.natural_key = ? ORDER BY f.source_tumor_id""", [key]).fetchall()
    return [SourceReport(key, int(source_id), str(file_name), int(batch_id),
                         None if registry_id is None else int(registry_id),
                         {**_items(con, 1, batch_id, patient_seq), **_items(con, 2, batch_id, tumor_seq)})
            for source_id, batch_id, tumor_seq, patient_seq, file_name, registry_id in rows]


def _differing(left: list[SourceReport], right: list[SourceReport]) -> tuple[str, ...]:
    """Items whose values differ between the two sides (first report of each)."""
    if not left or not right:
        return ()
    a, b = left[0].items, right[0].items
    return tuple(sorted(name for name in set(a) | set(b) if a.get(name, "") != b.get(name, "")))


def review_pair(principal: Principal, db_path: Path, ops: OperationalStore, review_id: int) -> PairView:
    """A pair of the review queue with both sides' reports as received (registrars; audited)."""
    require(principal, "link-review")
    item = review_item(ops, principal, review_id)
    read = _patient_reports if item.kind == "patient" else _tumor_reports
    with read_connection(db_path) as con:
        left, right = read(con, item.left_key), read(con, item.right_key)
    if not left and not right:
        raise InvalidRequest(f"review {review_id}: neither record is in the store any more")
    record_event(ops, principal, "record-view", purpose="link-review", review_id=review_id,
                 records=[r.source_id for r in left + right])
    return PairView(item, left, right, _differing(left, right))
