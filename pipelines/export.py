"""Export source records from the store as NAACCR XML, every item as received, in dictionary order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from pipelines.naaccr_xml_writer import NaaccrXmlWriter
from registry.errors import RegistryError
from registry.naaccr import Dictionary, base_dictionary
from registry.store import read_connection

# Items of a batch grouped by patient then tumor; entity rows (naaccr_id null) make empty records appear.
_STREAM_SQL = """
    SELECT patient_seq, tumor_seq, naaccr_id, value FROM (
        SELECT i.entity_seq AS patient_seq, 0 AS tumor_seq, i.naaccr_id, i.value
        FROM source_item i WHERE i.batch_id = $batch AND i.level = 1
        UNION ALL
        SELECT t.patient_seq, i.entity_seq, i.naaccr_id, i.value
        FROM source_item i JOIN source_tumor t ON t.batch_id = i.batch_id AND t.tumor_seq = i.entity_seq
        WHERE i.batch_id = $batch AND i.level = 2
        UNION ALL
        SELECT patient_seq, 0, NULL, NULL FROM source_patient WHERE batch_id = $batch
        UNION ALL
        SELECT patient_seq, tumor_seq, NULL, NULL FROM source_tumor WHERE batch_id = $batch)
    ORDER BY patient_seq, tumor_seq
"""


def _patients(rows: Iterator[tuple[int, int, str | None, str | None]]
              ) -> Iterator[tuple[dict[str, str], list[dict[str, str]]]]:
    current: int | None = None
    patient: dict[str, str] = {}
    tumors: dict[int, dict[str, str]] = {}
    for patient_seq, tumor_seq, naaccr_id, value in rows:
        if patient_seq != current:
            if current is not None:
                yield patient, list(tumors.values())
            current, patient, tumors = patient_seq, {}, {}
        target = patient if tumor_seq == 0 else tumors.setdefault(tumor_seq, {})
        if naaccr_id is not None and value is not None:
            target[naaccr_id] = value
    if current is not None:
        yield patient, list(tumors.values())


def export_batch(db_path: Path, batch_id: int, output: Path, *,
                 user_dictionaries: Sequence[Dictionary] = ()) -> int:
    """Write one loaded batch to a NAACCR XML file; returns the number of patients written."""
    with read_connection(db_path) as con:
        row = con.execute(
            "SELECT naaccr_version, record_type, root_items, dictionary_uris, status FROM ingest_batch "
            "WHERE batch_id = ?", [batch_id]).fetchall()
        if not row:
            raise RegistryError(f"{db_path}: there is no batch {batch_id}")
        version, record_type, root_items, uris, status = row[0]
        if status != "loaded":
            raise RegistryError(f"{db_path}: batch {batch_id} was not loaded ({status}); nothing to export")
        dictionary = base_dictionary(version)
        for user in user_dictionaries:
            dictionary = dictionary.with_user_dictionary(user)
        missing = [u for u in uris or [] if u not in dictionary.uris]
        if missing:
            raise RegistryError(f"batch {batch_id} used user dictionaries {missing}; pass them with --dictionary")
        count = 0
        result = con.execute(_STREAM_SQL, {"batch": batch_id})
        with NaaccrXmlWriter(output, dictionary=dictionary, record_type=record_type,
                             root_items=dict(root_items or {})) as writer:
            def rows() -> Iterator[tuple[int, int, str | None, str | None]]:
                while batch := result.fetchmany(50_000):
                    yield from batch
            for patient, tumors in _patients(rows()):
                writer.write_patient(patient, tumors)
                count += 1
    return count


def loaded_batch_ids(db_path: Path) -> list[int]:
    """Every loaded batch, oldest first."""
    with read_connection(db_path) as con:
        return [int(r[0]) for r in con.execute(
            "SELECT batch_id FROM ingest_batch WHERE status = 'loaded' ORDER BY batch_id").fetchall()]
