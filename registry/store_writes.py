"""The one write path into the DuckDB analytic store: migrations and backfills, ingest batches, populations.

Every statement that changes the store is in this module, so what can change it, and in which transaction,
is read in one place (`tests/test_store_writes.py` fails on a write statement anywhere else). It lives in
`registry/`, the domain core, because migrations belong to the store and `registry/` imports no other
package; the loaders in `pipelines/` call it with what they have read and staged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from registry.store import (
    connect_with_retry,
    migrations,
    owner_only_files,
    read_connection,
    retry_while_locked,
    schema_version,
    transaction,
)

WRITE_MEMORY_LIMIT = "384MB"
LINK_MEMORY_LIMIT = "1GB"       # consolidation aggregates many items per registry tumor
CONSOLIDATION_CHUNK = 50_000     # registry patients consolidated at a time
STAGED_ITEMS = "scope_cohort_item"   # the cohort items' source_item rows, staged once for a relink of many chunks
STORE_ALIAS = "registry_store"   # the store's name while attached to a loader's staging database


class AlreadyLoaded(Exception):
    """A file with the same SHA-256 is already in the store (found again inside the write transaction)."""

    def __init__(self, load_id: int) -> None:
        super().__init__(load_id)
        self.load_id = load_id


@contextmanager
def write_connection(db_path: Path, *, timeout: float = 120.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the store, created owner-only with its write-ahead log; waits for the lock."""
    with owner_only_files():
        db_path.parent.mkdir(parents=True, exist_ok=True)
        con = connect_with_retry(db_path, read_only=False, timeout=timeout)
        # Loads stream batches through this connection; a bounded buffer pool keeps the loader's memory flat.
        con.execute("SET memory_limit = ?", [WRITE_MEMORY_LIMIT])
        try:
            yield con
        finally:
            con.close()


@contextmanager
def _attached(con: duckdb.DuckDBPyConnection, db_path: Path, *, timeout: float = 120.0) -> Iterator[None]:
    """Attach the store read-write to a loader's staging connection as STORE_ALIAS, retrying while another
    process holds its lock, and detach it afterwards (its write-ahead log owner-only)."""
    with owner_only_files():
        retry_while_locked(lambda: con.execute(f"ATTACH ? AS {STORE_ALIAS}", [str(db_path)]), db_path, timeout)
        try:
            yield
        finally:
            con.execute(f"DETACH {STORE_ALIAS}")


# ---- schema ---------------------------------------------------------------------------------------------

def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the names applied."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_migration "
                "(number INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)")
    current = schema_version(con)
    applied = []
    for number, name, sql in migrations():
        if number <= current:
            continue
        with transaction(con):
            con.execute(sql)
            if name in _BACKFILLS:
                _BACKFILLS[name](con)
            con.execute("INSERT INTO schema_migration VALUES (?, ?, now())", [number, name])
        applied.append(name)
    return applied


def _backfill_site_recode(con: duckdb.DuckDBPyConnection) -> None:
    """Derive the site recode of tumors loaded before the column existed (migration 0003)."""
    from registry.site_recode import tumor_site_recodes

    tumors = con.execute("SELECT tumor_id, primary_site, histology, behavior, diagnosis_year FROM tumor").df()
    if tumors.empty:
        return
    codes = tumor_site_recodes(tumors)
    con.register("site_recode_backfill", pa.table({"tumor_id": tumors["tumor_id"].to_numpy(), "code": codes}))
    con.execute("UPDATE tumor SET site_recode = b.code FROM site_recode_backfill b WHERE tumor.tumor_id = b.tumor_id")
    con.unregister("site_recode_backfill")


def _backfill_tumor_items(con: duckdb.DuckDBPyConnection) -> None:
    """Choose the cohort items of every registry tumor linked before the table existed (migration 0006)."""
    con.execute("CREATE TEMP TABLE link_scope AS SELECT patient_id FROM registry_patient")
    _consolidate_tumor_items(con, versions=False)   # before migration 0008: no report is superseded yet
    _correct_tumor_items(con)
    con.execute("DROP TABLE link_scope")


# Python steps that complete a migration inside its transaction (derived values SQL cannot compute).
_BACKFILLS: dict[str, Callable[[duckdb.DuckDBPyConnection], None]] = {
    "0003_site_recode.sql": _backfill_site_recode,
    "0006_registry_tumor_item.sql": _backfill_tumor_items,
}


def ensure_store(db_path: Path) -> list[str]:
    """Create the store if needed and bring its schema up to date; return migrations applied."""
    latest = migrations()[-1][0]
    if db_path.exists():
        with read_connection(db_path) as con:
            if schema_version(con) >= latest:
                return []
    with write_connection(db_path) as con:
        return migrate(con)


# ---- ingest batches -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchRow:
    """The `ingest_batch` row of one file, as the loader read it (id, status and finish time set here)."""

    file_name: str
    file_size: int
    sha256: str
    format: str | None
    loaded_by: str
    started_at: datetime
    naaccr_version: str | None = None
    record_type: str | None = None
    specification_version: str | None = None
    dictionary_uris: Sequence[str] = ()
    root_attributes: dict[str, str] | None = None
    root_items: dict[str, str] | None = None
    patients_read: int = 0
    patients_loaded: int = 0
    patients_rejected: int = 0
    tumors_read: int = 0
    tumors_loaded: int = 0
    tumors_rejected: int = 0
    warnings: int = 0
    extensions_skipped: int = 0
    patients_unchanged: int = 0
    tumors_unchanged: int = 0


def record_failed_batch(db_path: Path, batch: BatchRow, message: str) -> None:
    """Record a file that could not be read as a `failed` batch (it loads nothing)."""
    with write_connection(db_path) as con, transaction(con):
        con.execute(
            """INSERT INTO ingest_batch (batch_id, file_name, file_size, sha256, format, status, message,
                                         loaded_by, started_at, finished_at,
                                         patients_read, patients_loaded, patients_rejected,
                                         tumors_read, tumors_loaded, tumors_rejected, warnings)
               SELECT coalesce(max(batch_id), 0) + 1, ?, ?, ?, ?, 'failed', ?, ?, ?, now(), 0, 0, 0, 0, 0, 0, 0
               FROM ingest_batch""",
            [batch.file_name, batch.file_size, batch.sha256, batch.format, message, batch.loaded_by,
             batch.started_at])


def commit_batch(stage: duckdb.DuckDBPyConnection, db_path: Path, batch: BatchRow,
                 copies: Sequence[tuple[str, str]]) -> int:
    """Insert a staged batch into the store in one transaction; return its batch_id.

    `copies` are (store table, SELECT over the staging database) pairs; each SELECT's columns are matched
    to the table's by name, `batch_id` is added, and `$batch_id` in it stands for the new batch's id. The
    store is attached to the staging connection, so the copy runs inside one DuckDB instance with one
    bounded buffer pool. Raises AlreadyLoaded when a batch with the same SHA-256 landed meanwhile.
    """
    attributes, items = batch.root_attributes or {}, batch.root_items or {}
    with _attached(stage, db_path), transaction(stage):
        again = stage.execute(f"SELECT min(batch_id) FROM {STORE_ALIAS}.ingest_batch "
                              "WHERE sha256 = ? AND status = 'loaded'", [batch.sha256]).fetchall()[0]
        if again[0] is not None:
            raise AlreadyLoaded(int(again[0]))
        batch_id = int(stage.execute(
            f"SELECT coalesce(max(batch_id), 0) + 1 FROM {STORE_ALIAS}.ingest_batch").fetchall()[0][0])
        stage.execute(
            f"""INSERT INTO {STORE_ALIAS}.ingest_batch
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, MAP(?, ?), MAP(?, ?),
                        ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', NULL, ?, ?, now(), ?, ?)""",
            [batch_id, batch.file_name, batch.file_size, batch.sha256, batch.format, batch.naaccr_version,
             batch.record_type, batch.specification_version, list(batch.dictionary_uris),
             list(attributes), list(attributes.values()), list(items), list(items.values()),
             batch.patients_read, batch.patients_loaded, batch.patients_rejected, batch.tumors_read,
             batch.tumors_loaded, batch.tumors_rejected, batch.warnings, batch.extensions_skipped,
             batch.loaded_by, batch.started_at, batch.tumors_unchanged, batch.patients_unchanged])
        for table, select in copies:
            query = select.replace("$batch_id", str(batch_id))
            stage.execute(f"INSERT INTO {STORE_ALIAS}.{table} BY NAME SELECT {batch_id} AS batch_id, * FROM ({query})")
    return batch_id


# ---- population files -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PopulationWrite:
    """What replacing population rows did: the new load's id and the earlier rows it removed."""

    load_id: int
    replaced_rows: int


def population_load_with_sha(con: duckdb.DuckDBPyConnection, sha256: str) -> int | None:
    """The population load that already holds a file with this SHA-256, if any."""
    row = con.execute("SELECT min(load_id) FROM population_load WHERE sha256 = ?", [sha256]).fetchall()[0]
    return int(row[0]) if row and row[0] is not None else None


def replace_population(db_path: Path, rows: pa.Table, *, file_name: str, sha256: str, first_year: int,
                       last_year: int, states: Sequence[str], total_population: int,
                       loaded_by: str) -> PopulationWrite:
    """In one transaction, replace the population rows of every (state_fips, year) in `rows` with `rows`
    and record the load. Raises AlreadyLoaded when a file with the same SHA-256 landed meanwhile."""
    with write_connection(db_path) as con, transaction(con):
        again = population_load_with_sha(con, sha256)
        if again is not None:
            raise AlreadyLoaded(again)
        load_id = int(con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM population_load").fetchall()[0][0])
        con.register("load_rows", rows)
        con.execute("CREATE TEMP TABLE load_pairs AS SELECT DISTINCT state_fips, year FROM load_rows")
        replaced = int(con.execute(
            "SELECT count(*) FROM population p JOIN load_pairs l USING (state_fips, year)").fetchall()[0][0])
        con.execute("DELETE FROM population USING load_pairs l "
                    "WHERE population.state_fips = l.state_fips AND population.year = l.year")
        con.execute("INSERT INTO population BY NAME SELECT *, ? AS load_id FROM load_rows", [load_id])
        con.execute("INSERT INTO population_load VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                    [load_id, file_name, sha256, rows.num_rows, first_year, last_year, list(states),
                     total_population, loaded_by])
        con.execute("DROP TABLE load_pairs")
        con.unregister("load_rows")
    return PopulationWrite(load_id, replaced)


# ---- registry entities (linkage and consolidation) ------------------------------------------------------

@dataclass(frozen=True)
class LinkageModelRow:
    """A trained linkage model to keep with the store (`linkage_model`); its version is assigned here."""

    settings: str
    upper_threshold: float
    lower_threshold: float
    records: int
    trained_by: str


def write_registry_links(db_path: Path, *, patient_links: pa.Table, tumor_links: pa.Table,
                         scope: Sequence[int], pairs: pa.Table | None = None, replace_pairs: bool = False) -> None:
    """In one transaction: upsert the links of source records and rebuild the registry patients in `scope`
    (their tumors, treatment, consolidated values' provenance and central sequence numbers) from their
    reports. Registry patients of `scope` left without any linked report are removed.

    `patient_links` and `tumor_links` have the columns of `patient_link` and `tumor_link`; `scope` holds
    every registry patient whose reports changed (those the changed records join and those they leave).
    `pairs` (the columns of `patient_pair`) are added to the candidate pairs, or replace them all.
    """
    from registry.cohort_definition import cohort_items

    with write_connection(db_path) as con, transaction(con):
        con.execute("SET memory_limit = ?", [LINK_MEMORY_LIMIT])
        con.register("new_patient_links", patient_links)
        con.register("new_tumor_links", tumor_links)
        con.register("scope_ids", pa.table({"patient_id": pa.array(list(scope), pa.int64())}))
        con.execute("DELETE FROM patient_link WHERE source_patient_id IN "
                    "(SELECT source_patient_id FROM new_patient_links)")
        con.execute("INSERT INTO patient_link BY NAME SELECT * FROM new_patient_links")
        con.execute("DELETE FROM tumor_link WHERE source_tumor_id IN (SELECT source_tumor_id FROM new_tumor_links)")
        con.execute("INSERT INTO tumor_link BY NAME SELECT * FROM new_tumor_links")
        if replace_pairs:
            con.execute("DELETE FROM patient_pair")
        if pairs is not None:
            con.register("new_pairs", pairs)
            con.execute("INSERT INTO patient_pair BY NAME SELECT * FROM new_pairs")
            con.unregister("new_pairs")
        con.execute("CREATE TEMP TABLE link_scope AS SELECT DISTINCT patient_id FROM scope_ids")
        con.execute("CREATE TEMP TABLE scope_tumor AS SELECT tumor_id FROM registry_tumor "
                    "WHERE patient_id IN (SELECT patient_id FROM link_scope)")
        con.execute("DELETE FROM registry_treatment WHERE tumor_id IN (SELECT tumor_id FROM scope_tumor)")
        con.execute("DELETE FROM registry_tumor_item WHERE tumor_id IN (SELECT tumor_id FROM scope_tumor)")
        con.execute("DELETE FROM consolidated_value WHERE (level = 2 AND entity_id IN (SELECT tumor_id FROM scope_tumor))"
                    " OR (level = 1 AND entity_id IN (SELECT patient_id FROM link_scope))")
        con.execute("DELETE FROM registry_tumor WHERE patient_id IN (SELECT patient_id FROM link_scope)")
        con.execute("DELETE FROM registry_patient WHERE patient_id IN (SELECT patient_id FROM link_scope)")
        ordered = sorted(set(scope))
        staged = len(ordered) > CONSOLIDATION_CHUNK
        if staged:   # many chunks: the cohort items' rows are read from source_item once, not once per chunk
            con.execute(f"CREATE TEMP TABLE {STAGED_ITEMS} AS SELECT * FROM source_item "
                        "WHERE level = 2 AND naaccr_id IN (SELECT unnest(?::VARCHAR[]))", [list(cohort_items())])
        # Consolidated in chunks of registry patients, so memory stays bounded whatever the scope.
        for start in range(0, len(ordered), CONSOLIDATION_CHUNK):
            con.execute("DELETE FROM link_scope")
            con.register("chunk_ids", pa.table({"patient_id": pa.array(ordered[start:start + CONSOLIDATION_CHUNK],
                                                                       pa.int64())}))
            con.execute("INSERT INTO link_scope SELECT patient_id FROM chunk_ids")
            con.unregister("chunk_ids")
            _consolidate(con, STAGED_ITEMS if staged else "source_item")
        for name in ("link_scope", "scope_tumor", *((STAGED_ITEMS,) if staged else ())):
            con.execute(f"DROP TABLE {name}")
        for name in ("new_patient_links", "new_tumor_links", "scope_ids"):
            con.unregister(name)


def _consolidate(con: duckdb.DuckDBPyConnection, items: str = "source_item") -> None:
    """Registry patients, tumors, treatment and tumor items of the patients in `link_scope`, from their reports
    (their items read from `items`: `source_item` or STAGED_ITEMS)."""
    from registry.consolidation import (
        PATIENT_RULES,
        TUMOR_RULES,
        provenance_select,
        registry_patient_select,
        registry_treatment_select,
        registry_tumor_select,
    )

    con.execute(f"CREATE TEMP TABLE consolidated_patient AS {registry_patient_select()}")
    con.execute(f"CREATE TEMP TABLE consolidated_tumor AS {registry_tumor_select()}")
    con.execute("INSERT INTO registry_patient BY NAME "
                "SELECT COLUMNS(lambda c: NOT starts_with(c, '_from_')) FROM consolidated_patient")
    con.execute("INSERT INTO registry_tumor BY NAME "
                "SELECT COLUMNS(lambda c: NOT starts_with(c, '_from_')) FROM consolidated_tumor")
    con.execute(f"INSERT INTO consolidated_value BY NAME {provenance_select(1, 'consolidated_patient', PATIENT_RULES)}")
    con.execute(f"INSERT INTO consolidated_value BY NAME {provenance_select(2, 'consolidated_tumor', TUMOR_RULES)}")
    con.execute(f"INSERT INTO registry_treatment BY NAME {registry_treatment_select()}")
    _consolidate_tumor_items(con, items)
    _apply_corrections(con)   # a registrar's correction outlives every relink and re-ingest
    _derive(con)
    con.execute("DROP TABLE consolidated_patient")
    con.execute("DROP TABLE consolidated_tumor")


def _consolidate_tumor_items(con: duckdb.DuckDBPyConnection, items: str = "source_item", versions: bool = True) -> None:
    """`registry_tumor_item` rows of the registry tumors of the patients in `link_scope`, from their current
    reports' items in `items` (`source_item` or STAGED_ITEMS; `versions`: see registry_tumor_item_select)."""
    from registry.cohort_definition import cohort_items
    from registry.consolidation import registry_tumor_item_select

    rules = list(cohort_items().values())
    con.register("cohort_item_rule", pa.table({"naaccr_id": [i.naaccr_id for i in rules], "unknown": pa.array(
        [list(i.unknown) for i in rules], pa.list_(pa.string()))}))
    con.execute(f"INSERT INTO registry_tumor_item BY NAME {registry_tumor_item_select(items, versions)}")
    con.unregister("cohort_item_rule")


def _correct_tumor_items(con: duckdb.DuckDBPyConnection) -> None:
    """The latest correction of a cohort item of a tumor of the patients in `link_scope` replaces its row (a
    correction to no value removes it)."""
    from registry.cohort_definition import cohort_items

    con.register("cohort_item_names", pa.table({"naaccr_id": list(cohort_items())}))
    con.execute("""CREATE TEMP TABLE corrected_item AS
                   SELECT entity_id AS tumor_id, item AS naaccr_id, new_value AS value FROM (
                       SELECT c.*, row_number() OVER (PARTITION BY entity_id, item
                                                      ORDER BY corrected_at DESC, correction_id DESC) AS n
                       FROM registry_correction c
                       WHERE c.level = 2 AND c.item IN (SELECT naaccr_id FROM cohort_item_names)
                         AND c.entity_id IN (SELECT tumor_id FROM registry_tumor
                                             WHERE patient_id IN (SELECT patient_id FROM link_scope)))
                   WHERE n = 1""")
    con.execute("DELETE FROM registry_tumor_item USING corrected_item c "
                "WHERE registry_tumor_item.tumor_id = c.tumor_id AND registry_tumor_item.naaccr_id = c.naaccr_id")
    con.execute("INSERT INTO registry_tumor_item SELECT tumor_id, naaccr_id, value FROM corrected_item "
                "WHERE value IS NOT NULL AND value <> ''")
    con.execute("DROP TABLE corrected_item")
    con.unregister("cohort_item_names")


def save_linkage_model(db_path: Path, model: LinkageModelRow) -> int:
    """Keep a newly trained linkage model with the store; return its version (1, 2, ...)."""
    with write_connection(db_path) as con, transaction(con):
        version = int(con.execute("SELECT coalesce(max(version), 0) + 1 FROM linkage_model").fetchall()[0][0])
        con.execute("INSERT INTO linkage_model VALUES (?, ?, ?, ?, ?, ?, now())",
                    [version, model.settings, model.upper_threshold, model.lower_threshold, model.records,
                     model.trained_by])
    return version


# ---- registry-level corrections -------------------------------------------------------------------------

@dataclass(frozen=True)
class CorrectionRow:
    """A registry-level correction to record (`registry_correction`); its id and old value are found here."""

    level: int                 # 1 registry patient, 2 registry tumor
    entity_id: int
    item: str                  # the NAACCR item id (a column item or an override flag)
    new_value: str | None
    reason: str
    work_item_id: int | None
    corrected_by: str
    corrected_at: datetime


@dataclass(frozen=True)
class CorrectionWrite:
    """What recording a correction did: its id, the value it replaced, and the registry tumors it touches."""

    correction_id: int
    old_value: str | None
    patient_id: int
    tumor_ids: tuple[int, ...]


def write_correction(db_path: Path, row: CorrectionRow, before_commit: Callable[[int, str | None], None]
                     ) -> CorrectionWrite:
    """In one short transaction: record the correction and set the registry patient's or tumor's value, with
    the derived columns and `consolidated_value` (rule 'correction'). `before_commit(correction_id, old_value)`
    runs inside the transaction (the audit event), so a correction that cannot be audited is not kept.
    Raises InvalidRequest when the registry patient or tumor does not exist."""
    from registry.correctable_items import PATIENT, correctable, naaccr_text
    from registry.errors import InvalidRequest

    item = correctable(row.item)
    table, key = ("registry_patient", "patient_id") if row.level == PATIENT else ("registry_tumor", "tumor_id")
    with write_connection(db_path) as con, transaction(con):
        found = con.execute(f"SELECT * FROM {table} WHERE {key} = ?", [row.entity_id])
        values = found.fetchall()
        if not values:
            raise InvalidRequest(f"there is no registry {'patient' if row.level == PATIENT else 'tumor'} "
                                 f"{row.entity_id}")
        current = dict(zip([d[0] for d in found.description], values[0], strict=True))
        if item.is_flag:
            earlier = con.execute("SELECT new_value FROM registry_correction WHERE level = ? AND entity_id = ? "
                                  "AND item = ? ORDER BY corrected_at DESC, correction_id DESC LIMIT 1",
                                  [row.level, row.entity_id, row.item]).fetchall()
            old_value = earlier[0][0] if earlier else None
        else:
            old_value = naaccr_text(item, current)
        correction_id = int(con.execute(
            "SELECT coalesce(max(correction_id), 0) + 1 FROM registry_correction").fetchall()[0][0])
        con.execute("INSERT INTO registry_correction VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [correction_id, row.level, row.entity_id, row.item, old_value, row.new_value, row.reason,
                     row.work_item_id, row.corrected_by, row.corrected_at])
        patient_id = int(current["patient_id"])
        con.execute("CREATE TEMP TABLE link_scope AS SELECT CAST(? AS BIGINT) AS patient_id", [patient_id])
        _apply_corrections(con)
        _derive(con)
        con.execute("DROP TABLE link_scope")
        tumor_ids = tuple(int(r[0]) for r in con.execute(
            "SELECT tumor_id FROM registry_tumor WHERE patient_id = ? ORDER BY tumor_id", [patient_id]).fetchall())
        before_commit(correction_id, old_value)
    return CorrectionWrite(correction_id, old_value, patient_id, tumor_ids)


def _apply_corrections(con: duckdb.DuckDBPyConnection) -> None:
    """Set the latest correction of each item of the registry patients in `link_scope` and of their tumors
    over the consolidated values, with the columns derived from them (age at diagnosis, county FIPS), and
    mark those values in `consolidated_value` as coming from a correction."""
    from registry.cohort import completed_years_sql
    from registry.correctable_items import (
        AGE_FROM,
        AGE_ITEM,
        COLUMN_TYPES,
        CORRECTION_RULE,
        PATIENT,
        RESIDENCE,
        column_values,
        correctable_items,
    )
    from registry.geography import STATE_FIPS

    _correct_tumor_items(con)
    latest = con.execute("""
        SELECT level, entity_id, item, new_value FROM (
            SELECT c.*, row_number() OVER (PARTITION BY level, entity_id, item
                                           ORDER BY corrected_at DESC, correction_id DESC) AS n
            FROM registry_correction c
            WHERE (c.level = 1 AND c.entity_id IN (SELECT patient_id FROM link_scope))
               OR (c.level = 2 AND c.entity_id IN (SELECT tumor_id FROM registry_tumor
                                                   WHERE patient_id IN (SELECT patient_id FROM link_scope))))
        WHERE n = 1""").fetchall()
    items = correctable_items()
    rows = [(int(level), int(entity), column, value)
            for level, entity, name, new_value in latest if name in items
            for column, value in column_values(items[name], new_value).items()]
    if not rows:
        return
    con.register("correction_values", pa.table({
        "level": pa.array([r[0] for r in rows], pa.int8()), "entity_id": pa.array([r[1] for r in rows], pa.int64()),
        "column_name": pa.array([r[2] for r in rows], pa.string()), "value": pa.array([r[3] for r in rows], pa.string())}))
    # Column names come from registry.correctable_items' constants, never from the request.
    for level, column in sorted({(r[0], r[2]) for r in rows}):
        table, key = ("registry_patient", "patient_id") if level == PATIENT else ("registry_tumor", "tumor_id")
        con.execute(f"UPDATE {table} SET {column} = CAST(v.value AS {COLUMN_TYPES.get(column, 'VARCHAR')}) "
                    f"FROM correction_values v WHERE v.level = ? AND v.column_name = ? AND {table}.{key} = v.entity_id",
                    [level, column])
    corrected = {(int(level), int(entity), str(name)) for level, entity, name, _ in latest}
    dated_tumors = {e for lv, e, n in corrected if lv != PATIENT and n in AGE_FROM}
    dated_patients = {e for lv, e, n in corrected if lv == PATIENT and n in AGE_FROM}
    aged = {e for lv, e, n in corrected if n == AGE_ITEM}
    moved = sorted({e for lv, e, n in corrected if n in RESIDENCE})
    if dated_tumors or dated_patients:
        con.register("age_scope", pa.table({"tumor_id": pa.array(sorted(dated_tumors - aged), pa.int64())}))
        con.register("age_patients", pa.table({"patient_id": pa.array(sorted(dated_patients), pa.int64())}))
        con.register("age_kept", pa.table({"tumor_id": pa.array(sorted(aged), pa.int64())}))
        # The age at diagnosis follows a corrected birth or diagnosis date, unless it is corrected itself.
        con.execute(f"""UPDATE registry_tumor SET age_at_diagnosis = {completed_years_sql('p.date_of_birth',
                                                                                           'registry_tumor.date_of_diagnosis')}
                        FROM registry_patient p
                        WHERE p.patient_id = registry_tumor.patient_id
                          AND p.date_of_birth IS NOT NULL AND registry_tumor.date_of_diagnosis IS NOT NULL
                          AND (registry_tumor.tumor_id IN (SELECT tumor_id FROM age_scope)
                               OR registry_tumor.patient_id IN (SELECT patient_id FROM age_patients))
                          AND registry_tumor.tumor_id NOT IN (SELECT tumor_id FROM age_kept)""")
        for name in ("age_scope", "age_patients", "age_kept"):
            con.unregister(name)
    if moved:
        con.register("state_fips", pa.table({"usps": list(STATE_FIPS), "fips": list(STATE_FIPS.values())}))
        con.register("moved_tumors", pa.table({"tumor_id": pa.array(moved, pa.int64())}))
        con.execute("""UPDATE registry_tumor SET county_fips =
                           CASE WHEN regexp_full_match(county_at_dx, '[0-9]{3}') AND county_at_dx NOT IN ('998', '999')
                                THEN (SELECT fips FROM state_fips WHERE usps = addr_at_dx_state) || county_at_dx END
                       WHERE tumor_id IN (SELECT tumor_id FROM moved_tumors)""")
        con.execute("""UPDATE consolidated_value SET source_id = NULL, rule = ?
                       WHERE level = 2 AND item = 'county_fips' AND entity_id IN (SELECT tumor_id FROM moved_tumors)""",
                    [CORRECTION_RULE])
        con.unregister("moved_tumors")
        con.unregister("state_fips")
    con.execute("""UPDATE consolidated_value SET source_id = NULL, rule = ? FROM correction_values v
                   WHERE consolidated_value.level = v.level AND consolidated_value.entity_id = v.entity_id
                     AND consolidated_value.item = v.column_name""", [CORRECTION_RULE])
    con.unregister("correction_values")


def _derive(con: duckdb.DuckDBPyConnection) -> None:
    """The site recode and central sequence numbers of the registry tumors of the patients in `link_scope`,
    from their (consolidated and corrected) values."""
    from registry.consolidation import SEQUENCE_NUMBERS
    from registry.site_recode import tumor_site_recodes

    tumors = con.execute("SELECT tumor_id, primary_site, histology, behavior, diagnosis_year FROM registry_tumor "
                         "WHERE patient_id IN (SELECT patient_id FROM link_scope)").df()
    if not tumors.empty:
        con.register("scope_recode", pa.table({"tumor_id": tumors["tumor_id"].to_numpy(),
                                               "code": tumor_site_recodes(tumors)}))
        con.execute("UPDATE registry_tumor SET site_recode = s.code FROM scope_recode s "
                    "WHERE registry_tumor.tumor_id = s.tumor_id")
        con.unregister("scope_recode")
    con.execute(f"UPDATE registry_tumor SET sequence_number_central = s.sequence_number_central "
                f"FROM ({SEQUENCE_NUMBERS}) s WHERE registry_tumor.tumor_id = s.tumor_id")


# ---- coding edits ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EditRunRow:
    """One run of an edit set: what it covered (`scope_ids`: level 2 report ids and level 3 registry tumor
    ids; None for the whole registry) and when."""

    edit_set: str
    scope: str
    edits_version: str
    run_by: str
    started_at: datetime
    finished_at: datetime
    reports: int
    tumors: int
    report_ids: pa.Table | None      # column record_id (int64); None = every report
    tumor_ids: pa.Table | None       # column record_id (int64); None = every registry tumor


def record_edit_runs(db_path: Path, runs: Sequence[EditRunRow], failures: Sequence[pa.Table]) -> list[int]:
    """In one transaction: record each run of an edit set and replace that set's failures on the records
    it covered with `failures[i]` (the columns of `edit_failure` but run_id). Returns the run ids."""
    run_ids: list[int] = []
    with write_connection(db_path) as con, transaction(con):
        next_id = int(con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM edit_run").fetchall()[0][0])
        for run, found in zip(runs, failures, strict=True):
            run_id = next_id + len(run_ids)
            for level, ids in ((2, run.report_ids), (3, run.tumor_ids)):
                if ids is None:
                    con.execute("DELETE FROM edit_failure WHERE edit_set = ? AND level = ?", [run.edit_set, level])
                    continue
                con.register("edit_scope_ids", ids)
                con.execute("DELETE FROM edit_failure WHERE edit_set = ? AND level = ? AND record_id IN "
                            "(SELECT record_id FROM edit_scope_ids)", [run.edit_set, level])
                con.unregister("edit_scope_ids")
            con.register("new_edit_failures", found)
            con.execute("INSERT INTO edit_failure BY NAME SELECT *, ?::INTEGER AS run_id FROM new_edit_failures",
                        [run_id])
            con.unregister("new_edit_failures")
            con.execute("INSERT INTO edit_run (run_id, edit_set, scope, edits_version, run_by, started_at, finished_at, "
                        "reports, tumors, failures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [run_id, run.edit_set, run.scope, run.edits_version, run.run_by, run.started_at,
                         run.finished_at, run.reports, run.tumors, found.num_rows])
            run_ids.append(run_id)
    return run_ids
