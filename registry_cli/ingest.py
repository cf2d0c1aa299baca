"""`registry ingest`: load files, one atomic batch each, with progress and a summary.

Exit codes: 0 every record loaded, 1 some records rejected or warned, 2 a file could not be read or was refused
(also every file, none read, when a --dictionary is missing or invalid).
"""

from __future__ import annotations

import getpass
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from pipelines.batch_result import BatchResult
from pipelines.load import ingest_file
from registry.errors import RegistryError
from registry.naaccr import Dictionary
from registry.store import DEFAULT_DB
from registry_cli.options import DbOption, expand_paths, user_dictionaries
from registry_cli.terminal import cell, console, out, printable, say

SUMMARY_ROWS = 20   # with more files, the summary lists only files with problems, plus the total
WIDE_SUMMARY = 100  # narrower terminals get the summary as lines instead of a table, so nothing is cut


def _summary_rows(results: list[BatchResult]) -> list[BatchResult]:
    return results if len(results) <= SUMMARY_ROWS else [
        r for r in results if r.status == "failed" or r.tumors_rejected or r.warnings]


def _rate(tumors: int, seconds: float) -> str:
    return f"{tumors / seconds:,.0f}" if seconds and tumors else ""


def _statuses(results: list[BatchResult]) -> str:
    return ", ".join(f"{sum(r.status == s for r in results)} {s}"
                     for s in ("loaded", "duplicate", "failed") if any(r.status == s for r in results))


def _summary_table(results: list[BatchResult], elapsed: float) -> Table:
    """One row per file, for terminals of at least WIDE_SUMMARY columns; cells wrap instead of being cut."""
    table = Table(title=f"Ingest summary ({elapsed:.1f} s)")
    for name in ("file", "status", "batch", "tumors read", "loaded", "rejected", "re-sent unchanged", "warnings",
                 "tumors/s"):
        table.add_column(name, justify="left" if name in ("file", "status") else "right", overflow="fold")
    for r in _summary_rows(results):
        table.add_row(cell(r.path), r.status, str(r.batch_id or ""), f"{r.tumors_read:,}",
                      f"{r.tumors_loaded:,}", f"{r.tumors_rejected:,}", f"{r.tumors_unchanged:,}",
                      f"{r.warnings:,}", _rate(r.tumors_read, r.seconds))
    if len(results) > 1:
        read = sum(r.tumors_read for r in results)
        table.add_row(f"total: {len(results)} files", _statuses(results), "", f"{read:,}",
                      f"{sum(r.tumors_loaded for r in results):,}", f"{sum(r.tumors_rejected for r in results):,}",
                      f"{sum(r.tumors_unchanged for r in results):,}", f"{sum(r.warnings for r in results):,}",
                      _rate(read, elapsed), style="bold")
    return table


def _summary_lines(results: list[BatchResult], elapsed: float) -> Text:
    """The summary as two lines per file, which wrap at any width (narrow terminals)."""
    def counts(read: int, loaded: int, rejected: int, unchanged: int, warnings: int, rate: str) -> str:
        return (f"{read:,} tumors read, {loaded:,} loaded, {rejected:,} rejected, "
                + (f"{unchanged:,} re-sent unchanged, " if unchanged else "") + f"{warnings:,} warnings"
                + (f", {rate} tumors/s" if rate else ""))

    text = Text()
    text.append(f"Ingest summary ({elapsed:.1f} s)\n", style="bold")
    for r in _summary_rows(results):
        status = f"{r.status} as batch {r.batch_id}" if r.batch_id else r.status
        text.append(printable(r.path) + "\n")
        text.append(f"  {status}: " + counts(r.tumors_read, r.tumors_loaded, r.tumors_rejected, r.tumors_unchanged,
                                            r.warnings, _rate(r.tumors_read, r.seconds)) + "\n")
    if len(results) > 1:
        read = sum(r.tumors_read for r in results)
        text.append(f"total: {len(results)} files ({_statuses(results)}): "
                    + counts(read, sum(r.tumors_loaded for r in results), sum(r.tumors_rejected for r in results),
                             sum(r.tumors_unchanged for r in results), sum(r.warnings for r in results),
                             _rate(read, elapsed)), style="bold")
    return text


def _summary(results: list[BatchResult], elapsed: float) -> Table | Text:
    """The ingest summary: a table on a wide terminal, lines on a narrow one."""
    if out.width >= WIDE_SUMMARY:
        return _summary_table(results, elapsed)
    return _summary_lines(results, elapsed)


def _ingest_one(path: Path, db: Path, user: str | None, user_dicts: list[Dictionary], naaccr_version: str | None,
                report: Callable[[int], None] | None = None) -> BatchResult:
    """Ingest one file, turning a registry error into a failed result (also runs in worker processes)."""
    try:
        return ingest_file(path, db_path=db, user=user, user_dictionaries=user_dicts,
                           naaccr_version=naaccr_version, progress=report, link=False)
    except RegistryError as exc:
        return BatchResult(path=path, sha256="", status="failed", message=f"{path}: {exc}")


def _print_result(result: BatchResult) -> None:
    if result.message:
        say(result.message, "yellow" if result.status == "duplicate" else "red")
    for message in result.messages:
        say(f"  {message}", "")
    for rule, count in result.rejects_by_rule.items():
        say(f"  rejected by {rule}: {count:,} records", "")
    for rule, count in result.warnings_by_rule.items():
        say(f"  warnings ({rule}): {count:,}", "")


def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files, folders or globs (.gz is read transparently).")],
    db: DbOption = DEFAULT_DB,
    dictionary: Annotated[list[Path] | None, typer.Option(help="User dictionary XML (repeatable).")] = None,
    naaccr_version: Annotated[str | None, typer.Option(help="NAACCR version for CSV/Excel without one.")] = None,
    user: Annotated[str | None, typer.Option(help="Recorded as the batch's loader.")] = None,
    jobs: Annotated[int, typer.Option(help="Files read in parallel (each still one atomic batch; batch "
                                           "numbers then follow the order files finish).")] = 1,
    link: Annotated[bool, typer.Option(help="Link the new reports into registry patients and tumors at the end "
                                            "(--no-link: later, with `registry link`).")] = True,
) -> None:
    """Load NAACCR XML, NAACCR flat, CSV or Excel files, one atomic batch per file."""
    files, missing = expand_paths(paths)
    for arg in missing:
        say(f"{arg}: no such file or folder")
    try:
        user_dicts = user_dictionaries(dictionary)
    except RegistryError as exc:   # a dictionary missing or invalid: nothing is read with a wrong dictionary
        say(exc)
        raise typer.Exit(2) from exc
    results: list[BatchResult] = []
    began = time.monotonic()
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.completed:,} tumors"), TextColumn("{task.fields[rate]}"),
                        TimeElapsedColumn(), console=console, transient=True)
    with progress:
        if jobs > 1 and len(files) > 1:
            results = _ingest_parallel(files, db, user, user_dicts, naaccr_version, jobs, progress)
        else:
            for path in files:
                task = progress.add_task(escape(printable(path.name)), total=None, rate="")
                start = time.monotonic()

                def report(tumors: int, task: TaskID = task, start: float = start) -> None:
                    elapsed = max(time.monotonic() - start, 1e-6)
                    progress.update(task, completed=tumors, rate=f"{tumors / elapsed:,.0f} tumors/s")

                result = _ingest_one(path, db, user, user_dicts, naaccr_version, report)
                progress.remove_task(task)
                results.append(result)
                _print_result(result)
    out.print(_summary(results, time.monotonic() - began))
    if link and db.exists():   # also links reports an earlier load or an older version left unlinked
        _link(db, user)
        loaded = [r.batch_id for r in results if r.status == "loaded" and r.batch_id is not None]
        if loaded:
            from registry_cli.edits import run_after_ingest

            run_after_ingest(db, loaded, user)
    if missing or any(r.status == "failed" for r in results):
        raise typer.Exit(2)
    if any(r.tumors_rejected or r.patients_rejected or r.warnings for r in results):
        raise typer.Exit(1)


def _link(db: Path, user: str | None) -> None:
    """Link the new reports into registry patients and tumors (one run for all the files)."""
    from pipelines.registry_link import link_registry

    try:
        with console.status("linking reports into registry patients and tumors"):
            summary = link_registry(db, user=user or getpass.getuser())
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    if not summary.newly_linked:
        return
    out.print(f"linked {summary.newly_linked:,} patient reports: {summary.registry_patients:,} registry patients, "
              f"{summary.registry_tumors:,} registry tumors; pending reviews: {summary.pending_patient_reviews:,} "
              f"patient, {summary.pending_tumor_reviews:,} tumor ({summary.seconds:.1f} s)",
              markup=False, highlight=False)


def _ingest_parallel(files: list[Path], db: Path, user: str | None, user_dicts: list[Dictionary],
                     naaccr_version: str | None, jobs: int, progress: Progress) -> list[BatchResult]:
    """Ingest files in worker processes; each commits its own batch when it holds the store's lock."""
    task = progress.add_task(f"{len(files)} files, {jobs} at a time", total=None, rate="")
    start = time.monotonic()
    done: dict[Path, BatchResult] = {}
    tumors = 0
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(_ingest_one, path, db, user, user_dicts, naaccr_version): path for path in files}
        for future in as_completed(futures):
            result = future.result()
            done[futures[future]] = result
            tumors += result.tumors_read
            elapsed = max(time.monotonic() - start, 1e-6)
            progress.update(task, completed=tumors, rate=f"{len(done)}/{len(files)} files, "
                                                         f"{tumors / elapsed:,.0f} tumors/s")
            _print_result(result)
    progress.remove_task(task)
    return [done[path] for path in files]
