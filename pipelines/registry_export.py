"""The registry's own records as NAACCR records: one Patient per registry patient, one Tumor per registry tumor.

Each record is built from its main report as received (a tumor's: the best-ranked reporting source, then the
earliest loaded report, as consolidation ranks them; a patient's: the report with the latest date of last
contact) with the registry's consolidated, and corrected, values written over the items they come from, the
override flags a registrar set, the central sequence number the registry assigned and the date it first
received the tumor (the earliest of its reports; a partial received date is written as the first day of its
period). Items the export's NAACCR version does not define at that level are left out (items retired since
the report was sent).
Registry patients are read in chunks, so memory stays bounded whatever the size of the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from registry.consolidation import SOURCE_RANK
from registry.correctable_items import PATIENT, TUMOR, correctable_items, naaccr_text
from registry.naaccr import Dictionary

CHUNK = 10_000   # registry patients read at a time
Record = tuple[dict[str, str], list[dict[str, str]]]

# The main report of each registry tumor and patient (see the module doc).
_MAIN_TUMOR = f"""SELECT l.registry_tumor_id, arg_min(t.tumor_id, [{SOURCE_RANK}, t.tumor_id]) AS source_id
                  FROM tumor t JOIN tumor_link l ON l.source_tumor_id = t.tumor_id GROUP BY l.registry_tumor_id"""
_MAIN_PATIENT = """SELECT l.registry_patient_id,
                          arg_min(p.patient_id, [coalesce(-datediff('day', DATE '1900-01-01', p.date_of_last_contact),
                                                          0), p.patient_id]) AS source_id
                   FROM patient p JOIN patient_link l ON l.source_patient_id = p.patient_id
                   GROUP BY l.registry_patient_id"""
_ITEMS = f"""
    WITH main_patient AS ({_MAIN_PATIENT}), main_tumor AS ({_MAIN_TUMOR})
    SELECT m.registry_patient_id AS registry_patient, 0 AS registry_tumor, i.naaccr_id, i.value
    FROM main_patient m JOIN patient p ON p.patient_id = m.source_id
    JOIN source_item i ON i.batch_id = p.batch_id AND i.level = 1 AND i.entity_seq = p.patient_seq
    WHERE m.registry_patient_id BETWEEN $first AND $last
    UNION ALL
    SELECT r.patient_id, r.tumor_id, i.naaccr_id, i.value
    FROM registry_tumor r JOIN main_tumor m ON m.registry_tumor_id = r.tumor_id
    JOIN tumor t ON t.tumor_id = m.source_id
    JOIN source_item i ON i.batch_id = t.batch_id AND i.level = 2 AND i.entity_seq = t.tumor_seq
    WHERE r.patient_id BETWEEN $first AND $last"""
_FLAGS = """SELECT level, entity_id, item, new_value FROM (
                SELECT c.*, row_number() OVER (PARTITION BY level, entity_id, item
                                               ORDER BY corrected_at DESC, correction_id DESC) AS n
                FROM registry_correction c WHERE starts_with(item, 'overRide')) WHERE n = 1"""


def _rows(con: Any, sql: str, first: int, last: int) -> list[dict[str, Any]]:
    cursor = con.execute(sql, {"first": first, "last": last})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _overlay(items: dict[str, str], values: dict[str, Any], level: int, dictionary: Dictionary) -> None:
    """Write the registry's values over the items they come from (removing an item the registry has no value for)."""
    for naaccr_id, item in correctable_items().items():
        if item.level != level or item.is_flag or naaccr_id not in dictionary.items:
            continue
        text = naaccr_text(item, values)
        if text is None:
            items.pop(naaccr_id, None)
        else:
            items[naaccr_id] = text


def registry_records(con: Any, dictionary: Dictionary, keep: Callable[[str], bool]) -> Iterator[Record]:
    """(patient items, tumor items) of every registry patient, in registry patient id order, with only the
    items `keep` accepts and `dictionary` defines at the level they are written at."""
    flags: dict[tuple[int, int], dict[str, str | None]] = {}
    for level, entity_id, item, value in con.execute(_FLAGS).fetchall():
        flags.setdefault((int(level), int(entity_id)), {})[str(item)] = value
    defined = {"Patient": {k for k, v in dictionary.items.items() if v.level == "Patient"},
               "Tumor": {k for k, v in dictionary.items.items() if v.level == "Tumor"}}
    ids = [int(r[0]) for r in con.execute("SELECT patient_id FROM registry_patient ORDER BY patient_id").fetchall()]
    for start in range(0, len(ids), CHUNK):
        first, last = ids[start], ids[min(start + CHUNK, len(ids)) - 1]
        patients = {r["patient_id"]: r for r in _rows(
            con, "SELECT * FROM registry_patient WHERE patient_id BETWEEN $first AND $last", first, last)}
        tumors: dict[int, list[dict[str, Any]]] = {}
        for row in _rows(con, "SELECT * FROM registry_tumor WHERE patient_id BETWEEN $first AND $last "
                              "ORDER BY patient_id, date_of_diagnosis NULLS LAST, tumor_id", first, last):
            tumors.setdefault(int(row["patient_id"]), []).append(row)
        received: dict[tuple[int, int], dict[str, str]] = {}
        for row in con.execute(_ITEMS, {"first": first, "last": last}).fetchall():
            received.setdefault((int(row[0]), int(row[1])), {})[str(row[2])] = str(row[3])
        for patient_id, patient_values in patients.items():
            patient = received.get((patient_id, 0), {})
            _overlay(patient, patient_values, PATIENT, dictionary)
            for name, value in flags.get((PATIENT, patient_id), {}).items():
                patient[name] = value or ""
            records = []
            for tumor_values in tumors.get(patient_id, []):
                tumor = received.get((patient_id, int(tumor_values["tumor_id"])), {})
                _overlay(tumor, tumor_values, TUMOR, dictionary)
                for name, value in flags.get((TUMOR, int(tumor_values["tumor_id"])), {}).items():
                    tumor[name] = value or ""
                if tumor_values["sequence_number_central"] is not None:
                    tumor["sequenceNumberCentral"] = str(tumor_values["sequence_number_central"])
                if tumor_values["date_case_report_received"] is not None:   # the earliest of its reports
                    tumor["dateCaseReportReceived"] = tumor_values["date_case_report_received"].strftime("%Y%m%d")
                records.append({k: v for k, v in tumor.items() if v and k in defined["Tumor"] and keep(k)})
            yield {k: v for k, v in patient.items() if v and k in defined["Patient"] and keep(k)}, records
