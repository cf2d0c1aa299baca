"""Export source records from the store as one NAACCR XML file, items as received, in dictionary order.

A NAACCR XML file has one root element: one base dictionary (NAACCR version), one record type and one
set of file-level items. Batches are therefore written into one file only when they agree on these;
otherwise the export is refused and names the batches that differ. Without ``identified`` the file is an
incidence file (record type I) without direct identifiers: the confidential and narrative items (names,
addresses, SSN, medical record numbers, text) and every item `registry.privacy` classifies as a direct
identifier are left out. Every export writes one audit event, and the file is created owner-only.

Two kinds of records can be exported: the reports as received (``records="received"``, the default: the
chosen batches' records exactly as the facilities sent them) or the registry's consolidated records
(``records="registry"``: one Patient per registry patient and one Tumor per registry tumor, each its main
report with the consolidated and corrected values written over, `pipelines.registry_export`), written in the
newest NAACCR version among the loaded batches.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.naaccr_xml_writer import NaaccrXmlWriter
from pipelines.registry_export import registry_records
from registry.audit import record_event
from registry.errors import DictionaryError, RegistryError
from registry.naaccr import DEFAULT_USER_URI, SUPPORTED_VERSIONS, Dictionary
from registry.operational import OperationalStore
from registry.principal import Principal
from registry.privacy import classify
from registry.store import OWNER_ONLY_FILE, read_connection
from registry.user_dictionary import dictionaries_for_version, dictionary_with

EXPORT_ACTION = "export"
EXPORT_DOCUMENT = "naaccr-xml"
DEIDENTIFIED_RECORD_TYPE = "I"
IDENTIFIED_RECORD_TYPE = "A"          # the registry's records: every item of the abstract
RECORD_KINDS = ("received", "registry")  # the reports as received, or the registry's consolidated records

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

Row = tuple[int, int, str | None, str | None]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the file, the batches in it, patients and tumors, identified or not."""

    output: Path
    batch_ids: tuple[int, ...]
    patients: int
    tumors: int
    identified: bool
    records: str = "received"


@dataclass(frozen=True)
class _Batch:
    batch_id: int
    version: str
    record_type: str
    root_items: tuple[tuple[str, str], ...]
    dictionary_uris: tuple[str, ...]


def _patients(rows: Iterator[Row], keep: Callable[[str], bool]) -> Iterator[tuple[dict[str, str], list[dict[str, str]]]]:
    current: int | None = None
    patient: dict[str, str] = {}
    tumors: dict[int, dict[str, str]] = {}
    for patient_seq, tumor_seq, naaccr_id, value in rows:
        if patient_seq != current:
            if current is not None:
                yield patient, list(tumors.values())
            current, patient, tumors = patient_seq, {}, {}
        target = patient if tumor_seq == 0 else tumors.setdefault(tumor_seq, {})
        if naaccr_id is not None and value is not None and keep(naaccr_id):
            target[naaccr_id] = value
    if current is not None:
        yield patient, list(tumors.values())


def _batches(con: Any, db_path: Path, batch_ids: Sequence[int] | None) -> list[_Batch]:
    """The batches to export (default: every loaded batch), refusing unknown or unloaded ones."""
    rows = con.execute("SELECT batch_id, naaccr_version, record_type, root_items, dictionary_uris, status "
                       "FROM ingest_batch ORDER BY batch_id").fetchall()
    by_id = {int(r[0]): r for r in rows}
    wanted = list(dict.fromkeys(batch_ids)) if batch_ids else [i for i, r in by_id.items() if r[5] == "loaded"]
    if not wanted:
        raise RegistryError(f"{db_path}: no loaded batch to export")
    batches = []
    for batch_id in wanted:
        if batch_id not in by_id:
            raise RegistryError(f"{db_path}: there is no batch {batch_id}")
        _, version, record_type, root_items, uris, status = by_id[batch_id]
        if status != "loaded":
            raise RegistryError(f"{db_path}: batch {batch_id} was not loaded ({status}); nothing to export")
        batches.append(_Batch(batch_id, str(version), str(record_type),
                              tuple(sorted(dict(root_items or {}).items())), tuple(uris or ())))
    return batches


def batch_ranges(ids: Sequence[int]) -> str:
    """Batch numbers as short ranges: [1, 2, 3, 5] -> "1-3, 5"."""
    ranges: list[list[int]] = []
    for batch_id in sorted(ids):
        if ranges and batch_id == ranges[-1][1] + 1:
            ranges[-1][1] = batch_id
        else:
            ranges.append([batch_id, batch_id])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def _dictionary(version: str, user_dictionaries: Sequence[Dictionary], used_uris: Iterable[str]) -> Dictionary:
    """The dictionary records of a NAACCR version are written with: the supplied user dictionaries of that
    version (`dictionaries_for_version`), and NAACCR's default user dictionary when the batches were read with
    it or no user dictionary applies."""
    users = dictionaries_for_version(version, user_dictionaries)
    default_user = not users or DEFAULT_USER_URI.format(version=version) in set(used_uris)
    try:
        return dictionary_with(version, users, default_user=default_user)
    except DictionaryError as exc:
        raise RegistryError(f"cannot export NAACCR {version} records: {exc}") from exc


def _kept_items(dictionary: Dictionary, identified: bool) -> Callable[[str], bool]:
    """Which items go into the file: all when identified, else incidence items that identify nobody."""
    def keep(naaccr_id: str) -> bool:
        if identified:
            return True
        item = dictionary.items.get(naaccr_id)
        return item is not None and DEIDENTIFIED_RECORD_TYPE in item.record_types \
            and classify(naaccr_id) != "direct"
    return keep


def _one_root(batches: list[_Batch], identified: bool,
              dictionaries: dict[str, Dictionary]) -> tuple[str, str, dict[str, str]]:
    """The version, record type and file-level items shared by all batches; refuse when they differ."""
    def root(b: _Batch) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        keep = _kept_items(dictionaries[b.version], identified)
        items = tuple((k, v) for k, v in b.root_items if keep(k))
        return b.version, b.record_type if identified else DEIDENTIFIED_RECORD_TYPE, items

    groups: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[int]] = {}
    for b in batches:
        groups.setdefault(root(b), []).append(b.batch_id)
    if len(groups) > 1:
        described = "; ".join(
            f"batch(es) {batch_ranges(ids)}: NAACCR {version}, record type {record_type}, "
            f"{len(items)} file-level item(s)" for (version, record_type, items), ids in groups.items())
        raise RegistryError(
            "these batches cannot share one NAACCR XML file (one root element: one NAACCR version, record "
            f"type and set of file-level items): {described}. Export them separately with --batch")
    version, record_type, items = next(iter(groups))
    return version, record_type, dict(items)


def _open_owner_only(output: Path) -> Any:
    """Open (create or truncate) the output for writing, readable by its owner only."""
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY_FILE)
        os.fchmod(fd, OWNER_ONLY_FILE)   # an existing file keeps its mode on open
    except OSError as exc:
        raise RegistryError(f"{output}: cannot write the export: {exc.strerror or exc}") from exc
    return os.fdopen(fd, "wb")


def export_naaccr_xml(db_path: Path, output: Path, *, principal: Principal, ops: OperationalStore,
                      batch_ids: Sequence[int] | None = None, identified: bool = False,
                      user_dictionaries: Sequence[Dictionary] = (), records: str = "received") -> ExportResult:
    """Write the batches (default: every loaded batch) into the one NAACCR XML file ``output``.

    ``identified`` keeps every item as received (names, SSN, addresses); otherwise direct identifiers,
    confidential and narrative items are left out and the file is record type I. ``records="registry"``
    writes the registry's consolidated records instead of the reports (see the module doc). Writes one
    audit event for ``principal``: what was exported, how many tumors, and where.
    """
    if records not in RECORD_KINDS:
        raise RegistryError(f"records {records!r}: export the reports as received or the registry's records "
                            f"({', '.join(RECORD_KINDS)})")
    if records == "registry":
        return _export_registry(db_path, output, principal=principal, ops=ops, batch_ids=batch_ids,
                                identified=identified, user_dictionaries=user_dictionaries)
    with read_connection(db_path) as con:
        batches = _batches(con, db_path, batch_ids)
        dictionaries = {v: _dictionary(v, user_dictionaries, (u for b in batches if b.version == v for u in b.dictionary_uris))
                        for v in {b.version for b in batches}}
        _, record_type, root_items = _one_root(batches, identified, dictionaries)
        dictionary = dictionaries[batches[0].version]
        for b in batches:
            missing = [u for u in b.dictionary_uris if u not in dictionary.uris]
            if missing:
                raise RegistryError(f"batch {b.batch_id} used user dictionaries {missing}; pass them with "
                                    "--dictionary")
        keep = _kept_items(dictionary, identified)
        stream = _open_owner_only(output)
        try:
            with stream, NaaccrXmlWriter(stream, dictionary=dictionary, record_type=record_type,
                                         root_items=root_items, gzip=output.name.endswith(".gz"),
                                         as_received=True) as writer:
                for b in batches:
                    result = con.execute(_STREAM_SQL, {"batch": b.batch_id})

                    def rows(result: Any = result) -> Iterator[Row]:
                        while chunk := result.fetchmany(50_000):
                            yield from chunk
                    for patient, tumors in _patients(rows(), keep):
                        writer.write_patient(patient, tumors)
            exported = ExportResult(output, tuple(b.batch_id for b in batches), writer.patients,
                                    writer.tumors, identified)
            _audit(ops, principal, exported, batches=list(exported.batch_ids))
        except BaseException:
            output.unlink(missing_ok=True)   # no export is left behind without its audit event
            raise
    return exported


def _audit(ops: OperationalStore, principal: Principal, exported: ExportResult, **detail: Any) -> None:
    """The export's one audit event (`registry.audit`'s export keys: document, format, file, rows) with the
    patients, whether identified and which records (received reports or the registry's)."""
    record_event(ops, principal, EXPORT_ACTION, document=EXPORT_DOCUMENT, format="naaccr-xml",
                 file=str(exported.output.resolve()), rows=exported.tumors, patients=exported.patients,
                 identified=exported.identified, records=exported.records, **detail)


def _export_registry(db_path: Path, output: Path, *, principal: Principal, ops: OperationalStore,
                     batch_ids: Sequence[int] | None, identified: bool,
                     user_dictionaries: Sequence[Dictionary]) -> ExportResult:
    """Write every registry patient and tumor, consolidated and corrected, into ``output`` (audited)."""
    if batch_ids:
        raise RegistryError("the registry's records are built from every batch; choose batches only when "
                            "exporting the reports as received")
    with read_connection(db_path) as con:
        batches = _batches(con, db_path, None)
        version = max((b.version for b in batches), key=SUPPORTED_VERSIONS.index)
        dictionary = _dictionary(version, user_dictionaries, (u for b in batches for u in b.dictionary_uris))
        keep = _kept_items(dictionary, identified)
        record_type = IDENTIFIED_RECORD_TYPE if identified else DEIDENTIFIED_RECORD_TYPE
        stream = _open_owner_only(output)
        try:
            with stream, NaaccrXmlWriter(stream, dictionary=dictionary, record_type=record_type,
                                         gzip=output.name.endswith(".gz")) as writer:
                for patient, tumors in registry_records(con, dictionary, keep):
                    writer.write_patient(patient, tumors)
            exported = ExportResult(output, tuple(b.batch_id for b in batches), writer.patients, writer.tumors,
                                    identified, "registry")
            _audit(ops, principal, exported)
        except BaseException:
            output.unlink(missing_ok=True)   # no export is left behind without its audit event
            raise
    return exported
