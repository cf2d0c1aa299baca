"""Load one input file into the analytic store as one atomic, accounted batch.

Steps: read the file chunk by chunk, hashing it as it is read (a file already loaded adds nothing);
check every item of each chunk against the file's dictionaries and decide its records, keeping the loaded
ones packed and the typed core's items in a private staging area without touching the store
(`pipelines.staging`); derive the typed core; then open the store read-write for one short transaction
that inserts the whole batch. A crash at any point before COMMIT leaves the store as it was, and a rerun
completes the load. For every batch: records read = records loaded + records rejected + records re-sent
unchanged (`pipelines.report_versions`).
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines import report_versions, validation
from pipelines.batch_result import BatchResult
from pipelines.readers import open_reader
from pipelines.readers.source import detect_format, open_regular
from pipelines.readers.xml_bulk import stage_line_structured_xml
from pipelines.records import SourceFile
from pipelines.staging import BatchStager
from registry.edits import run_edits
from registry.errors import SourceFileError
from registry.naaccr import Dictionary
from registry.operational_store import open_operational_store
from registry.store import OWNER_ONLY_DIR, read_connection
from registry.store_writes import (
    STORE_ALIAS,
    AlreadyLoaded,
    BatchRow,
    commit_batch,
    ensure_store,
    record_failed_batch,
)
from registry.worklist import sync_worklist

STAGING_DIR = ".staging"
STAGING_MEMORY_LIMIT = "256MB"
Progress = Callable[[int], None]   # called with the number of tumors read so far



def file_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 of the file's bytes as stored (compressed files hash compressed) and its size.

    Raises SourceFileError for anything but a regular file (see `open_regular`)."""
    digest = hashlib.sha256()
    size = 0
    with open_regular(path) as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _loaded_batch_with_sha(db_path: Path, sha256: str) -> int | None:
    with read_connection(db_path) as con:
        row = con.execute("SELECT min(batch_id) FROM ingest_batch WHERE sha256 = ? AND status = 'loaded'",
                          [sha256]).fetchall()[0]
    return int(row[0]) if row and row[0] is not None else None


def _clean_stale_staging(staging: Path) -> None:
    """Remove staging files left by loads whose process no longer runs (e.g. killed)."""
    if not staging.is_dir():
        return
    for entry in staging.iterdir():
        try:
            pid = int(entry.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        except PermissionError:
            continue


def _open_staging(db_path: Path) -> tuple[duckdb.DuckDBPyConnection, Path]:
    staging = db_path.parent / STAGING_DIR
    staging.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    _clean_stale_staging(staging)
    work = staging / f"load-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    work.mkdir(mode=OWNER_ONLY_DIR)
    # A file-backed staging database spills to disk, so a file of any size loads in bounded memory.
    con = duckdb.connect(str(work / "stage.duckdb"))
    con.execute("SET memory_limit = ?", [STAGING_MEMORY_LIMIT])
    con.execute("SET temp_directory = ?", [str(work / "spill")])
    con.execute("SET enable_progress_bar = false")
    return con, work


def _stage_records(stager: BatchStager, path: Path, work: Path, hashing: FileHash, *,
                   user_dictionaries: Sequence[Dictionary], naaccr_version: str | None,
                   progress: Progress | None) -> SourceFile:
    """Read the file chunk by chunk into the stager: the XML fast path when it fits (it hashes the bytes it
    reads), else the format's reader (the file is then hashed by a thread reading it once more)."""
    if detect_format(path) == "naaccr-xml":
        source = stage_line_structured_xml(
            stager, path, work, user_dictionaries=user_dictionaries,
            progress=progress, digest=hashing)
        if source is not None:
            hashing.complete()
            return source
    hashing.read_beside()
    reader = open_reader(path, user_dictionaries=user_dictionaries, naaccr_version=naaccr_version)
    tumors = 0
    for chunk in reader.chunks():
        tumors += stager.add(chunk, reader.source)
        if progress:
            progress(tumors)
    return reader.source


class FileHash:
    """SHA-256 and size of the file being loaded, computed while it is read: fed, in order, with the bytes a
    reader that reads the file whole reads (`update`, the XML fast path), or else by a thread reading the
    file once more beside the loading (`read_beside`; hashlib releases the interpreter lock on large
    blocks, so it runs on another core)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._digest = hashlib.sha256()
        self._size = 0
        self._complete = False
        self._result: tuple[str, int] | BaseException | None = None
        self._thread: threading.Thread | None = None

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """The next bytes of the file, in order."""
        self._digest.update(data)
        self._size += len(data)

    def complete(self) -> None:
        """Every byte of the file was given to `update`."""
        self._complete = True

    def read_beside(self) -> None:
        """Forget what was given (a reader that declined part-way) and hash the file in a thread instead."""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = file_sha256(self.path)
        except (SourceFileError, OSError) as exc:
            self._result = exc

    def result(self) -> tuple[str, int]:
        """The digest and size (the file is read for it when neither way ran to the end); raises what
        hashing raised."""
        if self._thread is not None:
            self._thread.join()
            if isinstance(self._result, BaseException):
                raise self._result
            assert self._result is not None
            return self._result
        if self._complete:
            return self._digest.hexdigest(), self._size
        return file_sha256(self.path)


def _record_failure(db_path: Path, path: Path, sha256: str, size: int, user: str, started: datetime,
                    error: SourceFileError) -> None:
    """Record a file that could not be read as a failed batch (it loads nothing)."""
    try:
        fmt: str | None = detect_format(path)
    except SourceFileError:
        fmt = None
    record_failed_batch(db_path, BatchRow(file_name=str(path), file_size=size, sha256=sha256, format=fmt,
                                          loaded_by=user, started_at=started), str(error))


# What each store table receives from staging (`store_writes.commit_batch`), matched to the store's columns
# by name; $batch_id is the new batch. Typed staging tables carry the store's column names, so they are copied whole
# (with the file's registryId for each patient). Records re-sent unchanged (`pipelines.report_versions`) are left out.
_UNCHANGED_PATIENT = "patient_seq NOT IN (SELECT patient_seq FROM unchanged_patient)"
_UNCHANGED_TUMOR = "tumor_seq NOT IN (SELECT tumor_seq FROM unchanged_tumor)"
_COMMIT_COPIES = (
    ("source_patient", f"SELECT * FROM commit_patient_records WHERE {_UNCHANGED_PATIENT}"),
    ("source_tumor", f"SELECT * FROM commit_tumor_records WHERE {_UNCHANGED_TUMOR}"),
    # the layouts the batch's records use (not those of rejected or unchanged records only)
    ("source_item_layout", "SELECT * FROM source_item_layouts "
                           f"WHERE (level = 1 AND layout_seq IN (SELECT layout_seq FROM {STORE_ALIAS}.source_patient "
                           "WHERE batch_id = $batch_id)) OR (level = 2 AND layout_seq IN "
                           f"(SELECT layout_seq FROM {STORE_ALIAS}.source_tumor WHERE batch_id = $batch_id))"),
    ("reject", "SELECT patient_seq, tumor_seq, line, naaccr_id, rule, reason, raw_record FROM reject_row"),
    ("ingest_warning", "SELECT patient_seq, tumor_seq, line, naaccr_id, rule, reason FROM warning_row"),
    ("patient", "SELECT *, (SELECT value FROM root_item WHERE naaccr_id = 'registryId') AS registry_id, "
                f"($batch_id::BIGINT << 32) + patient_seq AS patient_id FROM commit_typed_patient WHERE {_UNCHANGED_PATIENT}"),
    ("tumor", "SELECT * EXCLUDE (patient_seq), ($batch_id::BIGINT << 32) + tumor_seq AS tumor_id, "
              f"($batch_id::BIGINT << 32) + patient_seq AS patient_id FROM commit_typed_tumor WHERE {_UNCHANGED_TUMOR}"),
    ("treatment", f"SELECT *, ($batch_id::BIGINT << 32) + tumor_seq AS tumor_id FROM commit_typed_treatment WHERE {_UNCHANGED_TUMOR}"),
    ("source_tumor_superseded", report_versions.SUPERSEDED_SELECT),   # after the typed core: it reads it
)


def _commit(stage: duckdb.DuckDBPyConnection, db_path: Path, result: BatchResult, source: SourceFile,
            size: int, user: str, started: datetime) -> int:
    """Copy the staged batch into the store in one transaction (`registry.store_writes`); return its batch_id."""
    batch = BatchRow(
        file_name=str(result.path), file_size=size, sha256=result.sha256, format=source.format,
        loaded_by=user, started_at=started, naaccr_version=source.naaccr_version,
        record_type=source.record_type, specification_version=source.specification_version,
        dictionary_uris=list(source.dictionary.uris), root_attributes=dict(source.root_attributes),
        root_items=dict(source.root_items), patients_read=result.patients_read,
        patients_loaded=result.patients_loaded, patients_rejected=result.patients_rejected,
        tumors_read=result.tumors_read, tumors_loaded=result.tumors_loaded,
        tumors_rejected=result.tumors_rejected, warnings=result.warnings,
        patients_unchanged=result.patients_unchanged, tumors_unchanged=result.tumors_unchanged,
        extensions_skipped=source.extensions_skipped)
    return commit_batch(stage, db_path, batch, _COMMIT_COPIES)


def ingest_file(path: Path, *, db_path: Path, user: str | None = None,
                user_dictionaries: Sequence[Dictionary] = (), naaccr_version: str | None = None,
                progress: Progress | None = None, link: bool = True) -> BatchResult:
    """Load one file as one atomic batch and return what happened (never raises for bad input).

    With `link` (the default) the batch's records are then linked into registry patients and tumors
    (`pipelines.registry_link`) and the coding edits run on its reports and their registry tumors; a caller
    loading many files passes False and links (and edits) once at the end."""
    began = time.monotonic()
    started = datetime.now(UTC)
    user = user or getpass.getuser()
    ensure_store(db_path)
    hashing = FileHash(path)
    stage, work = _open_staging(db_path)
    result = BatchResult(path=path, sha256="", status="loaded")
    try:
        stager = BatchStager(stage, work)
        try:
            source = _stage_records(stager, path, work, hashing, user_dictionaries=user_dictionaries,
                                    naaccr_version=naaccr_version, progress=progress)
            result.stage_seconds["read and check"] = time.monotonic() - began
            result.sha256, size = hashing.result()
            result.stage_seconds["hash (beyond reading)"] = time.monotonic() - began - result.stage_seconds[
                "read and check"]
        except (SourceFileError, OSError, duckdb.Error) as exc:
            error = exc if isinstance(exc, SourceFileError) else SourceFileError(
                path, f"cannot read file: {exc.strerror or exc}" if isinstance(exc, OSError)
                else f"could not stage the file: {exc}")
            try:
                result.sha256, size = hashing.result()
            except (SourceFileError, OSError):
                size = 0
            _record_failure(db_path, path, result.sha256, size, user, started, error)
            result.status, result.message = "failed", str(error)
            result.seconds = time.monotonic() - began
            return result
        existing = _loaded_batch_with_sha(db_path, result.sha256)
        if existing is not None:
            result.status, result.batch_id = "duplicate", existing
            result.message = f"{path}: already loaded as batch {existing} (same SHA-256); nothing added"
            result.seconds = time.monotonic() - began
            return result
        result.format, result.naaccr_version = source.format, source.naaccr_version
        mark = time.monotonic()
        stager.finish(source)
        result.stage_seconds["typed core and outcome"] = time.monotonic() - mark
        mark = time.monotonic()
        report_versions.set_aside_resent(stage, db_path, result)
        validation.summarise(stage, source, result)
        result.stage_seconds["re-sent reports"] = time.monotonic() - mark
        mark = time.monotonic()
        try:
            result.batch_id = _commit(stage, db_path, result, source, size, user, started)
            result.stage_seconds["commit"] = time.monotonic() - mark
        except AlreadyLoaded as dup:
            result.status, result.batch_id = "duplicate", dup.load_id
            result.message = f"{path}: already loaded as batch {dup.load_id} (same SHA-256); nothing added"
    finally:
        stage.close()
        shutil.rmtree(work, ignore_errors=True)
    if link and result.status == "loaded" and result.tumors_loaded + result.patients_loaded:
        from pipelines.registry_link import link_registry  # splink is imported only when linking

        mark = time.monotonic()
        link_registry(db_path, user=user)
        edits = run_edits(db_path, batch_ids=[result.batch_id], run_by=user) if result.batch_id is not None else None
        if edits is not None:
            result.edit_errors, result.edit_warnings = edits.errors, edits.warnings
        sync_worklist(db_path, open_operational_store(db_path))
        result.stage_seconds["link and edits"] = time.monotonic() - mark
    result.seconds = time.monotonic() - began
    return result
