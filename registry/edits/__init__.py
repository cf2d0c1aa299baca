"""Coding edits (NAACCR/NPCR EDITS style): every source tumor report and every registry tumor checked against
the code lists, site/histology tables and date rules, failures kept in `edit_failure`.

Two edit sets: `incoming` checks each source tumor report as received (level 2, `tumor.tumor_id`);
`publication` checks each registry tumor's consolidated values (level 3, `registry_tumor.tumor_id`) and
whether a registry patient's reports agree on sex, birth date and race (inter-record; the failure goes on every
registry tumor of the patient). A run replaces its set's failures on the records it covers. An edit with a
NAACCR override flag is cleared by the report's own flag ('1' in the lossless layer; it also clears the
registry tumor the report is linked to) or by a registry-level correction setting the flag to '1' for the
registry tumor (which clears it on the tumor and its reports).

Definitions are data (`registry/data/edits.csv`); predicates are in `registry.edits.predicates`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from registry.edits.definitions import EDIT_SETS, EditDefinition, edit_definitions, edits_version
from registry.edits.predicates import INTER_RECORD, EditFrame, evaluate
from registry.edits.reading import (
    READ_MEMORY_LIMIT,
    disagreeing_patients,
    read_reports,
    read_tumors,
    registry_overrides,
    report_chunks,
    report_overrides,
    tumor_chunks,
)
from registry.errors import InvalidRequest, StoreError
from registry.store import read_connection
from registry.store_writes import EditRunRow, ensure_store, record_edit_runs

__all__ = ["EditDefinition", "EditRunSummary", "edit_definitions", "run_edits", "unedited_batches"]

T = TypeVar("T")
LEVEL_REPORT, LEVEL_TUMOR = 2, 3
FAILURE_SCHEMA = pa.schema([("level", pa.uint8()), ("record_id", pa.int64()), ("edit_id", pa.string()),
                            ("edit_set", pa.string()), ("severity", pa.string()), ("items", pa.string()),
                            ("item_values", pa.string()), ("message", pa.string())])
UNKNOWN_VALUES = {"sex": {"", "9"}, "dateOfBirth": {""}, "race1": {"", "99"}}


@dataclass(frozen=True)
class EditRunSummary:
    """What one call of `run_edits` did: one run per edit set."""

    run_ids: tuple[int, ...]
    reports: int            # source tumor reports edited (incoming)
    tumors: int             # registry tumors edited (publication)
    errors: int
    warnings: int
    seconds: float


class _Values(dict[str, str]):
    """Message fields: item values, with '' for anything the template names but the record lacks."""

    def __missing__(self, key: str) -> str:
        return ""


def _failure_rows(frame: EditFrame, edits: Sequence[EditDefinition], edit_set: str, level: int,
                  overridden: dict[str, np.ndarray]) -> list[dict[str, object]]:
    """Failure rows of the record-level edits of a set over one frame."""
    rows: list[dict[str, object]] = []
    record_ids = frame.frame["record_id"].to_numpy()
    for edit in edits:
        fails, note = evaluate(frame, edit)
        if edit.override:
            fails &= ~overridden.get(edit.override, np.zeros(frame.size, dtype=bool))
        for index in np.flatnonzero(fails):
            values = _Values({item: str(frame.text(item)[index]) for item in edit.items})
            shown = "; ".join(f"{item}={value}" for item, value in values.items())
            values["values"] = "; ".join(f"{item}={value}" for item, value in values.items() if value)
            values["rule"] = "" if note is None else str(note[index])
            rows.append({"level": level, "record_id": int(record_ids[index]), "edit_id": edit.id, "edit_set": edit_set,
                         "severity": edit.severity, "items": ",".join(edit.items), "item_values": shown,
                         "message": edit.message.format_map(values)})
    return rows


def _overridden(frame: EditFrame, edits: Sequence[EditDefinition], registry_flags: dict[str, set[int]],
                tumor_column: str, own_flags: bool) -> dict[str, np.ndarray]:
    """Per override flag, which records it clears: the record's own flag (reports) or a registry correction
    of the flag for its registry tumor."""
    tumors = pd.to_numeric(frame.frame[tumor_column], errors="coerce").fillna(-1).astype(np.int64).to_numpy()
    cleared: dict[str, np.ndarray] = {}
    for flag in {e.override for e in edits if e.override}:
        hit = np.isin(tumors, sorted(registry_flags.get(flag, set())))
        if own_flags:
            hit |= frame.text(flag) == "1"
        cleared[flag] = hit
    return cleared


def _inter_record_rows(con: duckdb.DuckDBPyConnection, tumors: pd.DataFrame, edits: Sequence[EditDefinition],
                       edit_set: str) -> list[dict[str, object]]:
    """Inter-record failures: the registry patient's source records disagree on the item (unknowns aside);
    the failure goes on every registry tumor of the patient."""
    if not edits or tumors.empty:
        return []
    ids = tumors["record_id"].astype("int64").tolist()
    rows: list[dict[str, object]] = []
    for edit in edits:
        item = edit.parameter
        disagree = disagreeing_patients(con, ids, item, sorted(UNKNOWN_VALUES[item])).set_index(
            "registry_patient_id")["values"]
        hit = tumors[tumors["registry_patient_id"].isin(disagree.index)]
        for record_id, patient in zip(hit["record_id"], hit["registry_patient_id"], strict=True):
            shown = str(disagree[patient])
            rows.append({"level": LEVEL_TUMOR, "record_id": int(record_id), "edit_id": edit.id, "edit_set": edit_set,
                         "severity": edit.severity, "items": item, "item_values": f"{item}={shown}",
                         "message": edit.message.format_map(_Values(values=shown))})
    return rows


def _id_table(ids: Sequence[int]) -> pa.Table:
    return pa.table({"record_id": pa.array(sorted(set(ids)), pa.int64())})


def _prefetched(reads: Sequence[Callable[[], T]]) -> Iterator[T]:
    """The results of `reads` in order, each next one read in a second thread while the caller works on the
    current one (DuckDB reads without holding the interpreter; the edits are numpy work)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(reads[0]) if reads else None
        for index in range(len(reads)):
            assert pending is not None
            result = pending.result()
            pending = pool.submit(reads[index + 1]) if index + 1 < len(reads) else None
            yield result


def _run_incoming(con: duckdb.DuckDBPyConnection, edits: Sequence[EditDefinition], batch_ids: Sequence[int] | None,
                  report_scope: pa.Table | None, registry_flags: dict[str, set[int]]) -> tuple[pa.Table, list[int]]:
    """Failures of the report-level edits on the reports in scope, and the reports edited."""
    items = sorted({item for e in edits for item in e.items} | {e.override for e in edits if e.override}
                   | {"derivedSs2000", "addrAtDxCountry"} | {f"{i}Flag" for e in edits for i in e.items
                                                             if i.startswith(("date", "rxDate")) and not i.endswith("Flag")})
    reader = con.cursor()
    scope_name = None
    if report_scope is not None:
        reader.register("edit_report_scope", report_scope.rename_columns(["tumor_id"]))
        scope_name = "edit_report_scope"
    rows: list[dict[str, object]] = []
    edited: list[int] = []
    try:
        reads = [partial(read_reports, reader, chunk, items, scope_name)
                 for chunk in report_chunks(reader, batch_ids, scope_name)]
        for found in _prefetched(reads):
            frame = EditFrame(found, nulls=False)
            overridden = _overridden(frame, edits, registry_flags, "registry_tumor_id", own_flags=True)
            rows += _failure_rows(frame, edits, "incoming", LEVEL_REPORT, overridden)
            edited += frame.frame["record_id"].astype("int64").tolist()
    finally:
        reader.close()
    return pa.Table.from_pylist(rows, schema=FAILURE_SCHEMA), edited


def _run_publication(con: duckdb.DuckDBPyConnection, edits: Sequence[EditDefinition], tumor_scope: pa.Table | None,
                     registry_flags: dict[str, set[int]]) -> tuple[pa.Table, list[int]]:
    """Failures of the registry-tumor edits and inter-record edits on the registry tumors in scope."""
    record_edits = [e for e in edits if e.predicate != INTER_RECORD]
    inter_edits = [e for e in edits if e.predicate == INTER_RECORD]
    reader = con.cursor()
    scope_name = None
    if tumor_scope is not None:
        reader.register("edit_tumor_scope", tumor_scope.rename_columns(["tumor_id"]))
        scope_name = "edit_tumor_scope"
    rows: list[dict[str, object]] = []
    edited: list[int] = []
    try:
        for tumors in _prefetched([partial(read_tumors, reader, ids) for ids in tumor_chunks(reader, scope_name)]):
            frame = EditFrame(tumors, nulls=False)
            overridden = _overridden(frame, record_edits, registry_flags, "record_id", own_flags=False)
            rows += _failure_rows(frame, record_edits, "publication", LEVEL_TUMOR, overridden)
            rows += _inter_record_rows(con, tumors, inter_edits, "publication")
            edited += tumors["record_id"].astype("int64").tolist()
    finally:
        reader.close()
    return pa.Table.from_pylist(rows, schema=FAILURE_SCHEMA), edited


def _scopes(con: duckdb.DuckDBPyConnection, batch_ids: Sequence[int] | None,
            registry_tumor_ids: Sequence[int] | None) -> tuple[pa.Table | None, pa.Table | None]:
    """(reports, registry tumors) in scope as id tables; None = every one. Batches cover their reports and
    the registry tumors those reports are linked to; registry tumors cover themselves and their reports."""
    if batch_ids is None and registry_tumor_ids is None:
        return None, None
    reports: set[int] = set()
    tumors: set[int] = set(registry_tumor_ids or ())
    if batch_ids is not None:
        found = con.execute("SELECT t.tumor_id, l.registry_tumor_id FROM tumor t LEFT JOIN tumor_link l "
                            "ON l.source_tumor_id = t.tumor_id WHERE t.batch_id IN (SELECT unnest(?::INTEGER[]))",
                            [list(batch_ids)]).fetchall()
        reports.update(int(r) for r, _ in found)
        tumors.update(int(t) for _, t in found if t is not None)
    if registry_tumor_ids:
        found = con.execute("SELECT source_tumor_id FROM tumor_link WHERE registry_tumor_id IN "
                            "(SELECT unnest(?::BIGINT[]))", [list(registry_tumor_ids)]).fetchall()
        reports.update(int(r) for (r,) in found)
    return _id_table(sorted(reports)), _id_table(sorted(tumors))


def _scope_text(batch_ids: Sequence[int] | None, registry_tumor_ids: Sequence[int] | None) -> str:
    parts = []
    if batch_ids is not None:
        parts.append("batch:" + ",".join(str(b) for b in sorted(batch_ids)))
    if registry_tumor_ids is not None:
        parts.append("tumor:" + ",".join(str(t) for t in sorted(registry_tumor_ids)))
    return " ".join(parts) or "all"


def run_edits(db_path: Path, *, edit_set: str | None = None, batch_ids: Sequence[int] | None = None,
              registry_tumor_ids: Sequence[int] | None = None, run_by: str) -> EditRunSummary:
    """Run an edit set (every set when None) over the batches' reports and registry tumors and the registry
    tumors given with their reports (the whole registry when both are None), replacing the failures of those
    records in one transaction."""
    if edit_set is not None and edit_set not in EDIT_SETS:
        raise InvalidRequest(f"no edit set {edit_set!r}; the sets are {', '.join(EDIT_SETS)}")
    began = time.perf_counter()
    sets = (edit_set,) if edit_set else EDIT_SETS
    ensure_store(db_path)
    runs: list[EditRunRow] = []
    failures: list[pa.Table] = []
    try:
        with read_connection(db_path) as con:
            con.execute("SET memory_limit = ?", [READ_MEMORY_LIMIT])
            report_scope, tumor_scope = _scopes(con, batch_ids, registry_tumor_ids)
            edits = edit_definitions()
            registry_flags = registry_overrides(con, sorted({e.override for e in edits if e.override}))
            for name in sets:
                started = datetime.now(UTC)
                chosen = [e for e in edits if name in e.sets]
                empty = _id_table([])
                if name == "incoming":
                    found, edited = _run_incoming(con, chosen, None if report_scope is not None else batch_ids,
                                                  report_scope, registry_flags)
                    report_ids, tumor_ids, reports, tumors = report_scope, empty, len(edited), 0
                else:
                    flags = report_overrides(con, sorted({e.override for e in chosen if e.override}))
                    merged = {flag: registry_flags.get(flag, set()) | flags.get(flag, set())
                              for flag in set(registry_flags) | set(flags)}
                    found, edited = _run_publication(con, chosen, tumor_scope, merged)
                    report_ids, tumor_ids, reports, tumors = empty, tumor_scope, 0, len(edited)
                failures.append(found)
                runs.append(EditRunRow(name, _scope_text(batch_ids, registry_tumor_ids), edits_version(), run_by,
                                       started, datetime.now(UTC), reports, tumors, report_ids, tumor_ids))
    except duckdb.Error as exc:
        raise StoreError(f"{db_path}: coding edits could not run: {str(exc).splitlines()[0]}") from exc
    run_ids = record_edit_runs(db_path, runs, failures)
    severities = pa.concat_tables(failures).column("severity").to_pylist() if failures else []
    return EditRunSummary(run_ids=tuple(run_ids), reports=sum(r.reports for r in runs),
                          tumors=sum(r.tumors for r in runs), errors=severities.count("error"),
                          warnings=severities.count("warning"), seconds=time.perf_counter() - began)


def unedited_batches(db_path: Path) -> list[int]:
    """Loaded batches the `incoming` set has not run on: loaded after the last whole-registry run and named
    by no batch-scoped run (e.g. loaded with `--no-link`, before linkage ran the edits)."""
    with read_connection(db_path) as con:
        rows = con.execute("""
            WITH covered AS (
                SELECT DISTINCT CAST(unnest(string_split(regexp_extract(scope, 'batch:([0-9,]+)', 1), ','))
                                     AS INTEGER) AS batch_id
                FROM edit_run WHERE edit_set = 'incoming' AND scope LIKE 'batch:%'),
            whole AS (SELECT max(started_at) AS at FROM edit_run WHERE edit_set = 'incoming' AND scope = 'all')
            SELECT b.batch_id FROM ingest_batch b, whole
            WHERE b.status = 'loaded' AND b.batch_id NOT IN (SELECT batch_id FROM covered)
              AND (whole.at IS NULL OR b.finished_at > whole.at)
            ORDER BY b.batch_id""").fetchall()
    return [int(b) for (b,) in rows]
