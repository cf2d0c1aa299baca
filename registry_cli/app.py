"""The `registry` command: ingest files, export NAACCR XML, inspect batches and the store.

Exit codes of `registry ingest`: 0 every record loaded, 1 some records rejected or warned,
2 a file could not be read.
"""

from __future__ import annotations

import glob
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from pipelines.load import BatchResult, ingest_file
from registry.errors import RegistryError
from registry.naaccr import LATEST_VERSION, Dictionary, parse_user_dictionary
from registry.store import DEFAULT_DB, ENV_DB

app = typer.Typer(help="Oncoregistry: cancer registry ingest, store and dashboard.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
export_app = typer.Typer(help="Export records from the store.", no_args_is_help=True)
app.add_typer(export_app, name="export")
population_app = typer.Typer(help="Population denominators from SEER population files.", no_args_is_help=True)
app.add_typer(population_app, name="population")
console = Console(stderr=True, soft_wrap=True)
out = Console()

DbOption = Annotated[Path, typer.Option("--db", envvar=ENV_DB, help="Analytic store (DuckDB file).")]
INGEST_SUFFIXES = (".xml", ".gz", ".txt", ".dat", ".csv", ".xlsx", ".naaccr", ".fwf")


def printable(text: object) -> str:
    """Text safe for the terminal: control characters (ANSI escapes, line breaks) shown as escapes."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))


def _cell(text: object) -> Text:
    """A table cell shown literally (file names may hold rich markup such as "[/red]")."""
    return Text(printable(text))


def _say(message: object, style: str = "red") -> None:
    """Print a message on stderr literally: no markup, no highlighting, no raw control characters."""
    console.print(printable(message), style=style, markup=False, highlight=False)


def _expand(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Files named by paths, folders (recursively) and globs; plus the arguments that matched nothing.

    An argument naming an existing path is taken literally, even when it contains glob characters.
    """
    files: list[Path] = []
    missing: list[str] = []
    for arg in paths:
        literal = os.path.lexists(arg)
        matches = sorted(glob.glob(arg, recursive=True)) if glob.has_magic(arg) and not literal else [arg]
        if not matches or not (literal or Path(matches[0]).exists()):
            missing.append(arg)
            continue
        for match in matches:
            path = Path(match)
            if path.is_dir():
                files.extend(sorted(p for p in path.rglob("*")
                                    if p.is_file() and p.name.lower().endswith(INGEST_SUFFIXES)))
            else:
                files.append(path)
    return files, missing


def _dictionaries(paths: list[Path] | None) -> list[Dictionary]:
    return [parse_user_dictionary(p) for p in paths or []]


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
    for name in ("file", "status", "batch", "tumors read", "loaded", "rejected", "warnings", "tumors/s"):
        table.add_column(name, justify="left" if name in ("file", "status") else "right", overflow="fold")
    for r in _summary_rows(results):
        table.add_row(_cell(r.path), r.status, str(r.batch_id or ""), f"{r.tumors_read:,}",
                      f"{r.tumors_loaded:,}", f"{r.tumors_rejected:,}", f"{r.warnings:,}",
                      _rate(r.tumors_read, r.seconds))
    if len(results) > 1:
        read = sum(r.tumors_read for r in results)
        table.add_row(f"total: {len(results)} files", _statuses(results), "", f"{read:,}",
                      f"{sum(r.tumors_loaded for r in results):,}", f"{sum(r.tumors_rejected for r in results):,}",
                      f"{sum(r.warnings for r in results):,}", _rate(read, elapsed), style="bold")
    return table


def _summary_lines(results: list[BatchResult], elapsed: float) -> Text:
    """The summary as two lines per file, which wrap at any width (narrow terminals)."""
    def counts(read: int, loaded: int, rejected: int, warnings: int, rate: str) -> str:
        return (f"{read:,} tumors read, {loaded:,} loaded, {rejected:,} rejected, {warnings:,} warnings"
                + (f", {rate} tumors/s" if rate else ""))

    text = Text()
    text.append(f"Ingest summary ({elapsed:.1f} s)\n", style="bold")
    for r in _summary_rows(results):
        status = f"{r.status} as batch {r.batch_id}" if r.batch_id else r.status
        text.append(printable(r.path) + "\n")
        text.append(f"  {status}: " + counts(r.tumors_read, r.tumors_loaded, r.tumors_rejected, r.warnings,
                                            _rate(r.tumors_read, r.seconds)) + "\n")
    if len(results) > 1:
        read = sum(r.tumors_read for r in results)
        text.append(f"total: {len(results)} files ({_statuses(results)}): "
                    + counts(read, sum(r.tumors_loaded for r in results), sum(r.tumors_rejected for r in results),
                             sum(r.warnings for r in results), _rate(read, elapsed)), style="bold")
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
                           naaccr_version=naaccr_version, progress=report)
    except RegistryError as exc:
        return BatchResult(path=path, sha256="", status="failed", message=f"{path}: {exc}")


def _print_result(result: BatchResult) -> None:
    if result.message:
        _say(result.message, "yellow" if result.status == "duplicate" else "red")
    for message in result.messages:
        _say(f"  {message}", "")
    for rule, count in result.rejects_by_rule.items():
        _say(f"  rejected by {rule}: {count:,} records", "")
    for rule, count in result.warnings_by_rule.items():
        _say(f"  warnings ({rule}): {count:,}", "")


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files, folders or globs (.gz is read transparently).")],
    db: DbOption = DEFAULT_DB,
    dictionary: Annotated[list[Path] | None, typer.Option(help="User dictionary XML (repeatable).")] = None,
    naaccr_version: Annotated[str | None, typer.Option(help="NAACCR version for CSV/Excel without one.")] = None,
    user: Annotated[str | None, typer.Option(help="Recorded as the batch's loader.")] = None,
    jobs: Annotated[int, typer.Option(help="Files read in parallel (each still one atomic batch; batch "
                                           "numbers then follow the order files finish).")] = 1,
) -> None:
    """Load NAACCR XML, NAACCR flat, CSV or Excel files, one atomic batch per file."""
    files, missing = _expand(paths)
    for arg in missing:
        _say(f"{arg}: no such file or folder")
    user_dicts = _dictionaries(dictionary)
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
    if missing or any(r.status == "failed" for r in results):
        raise typer.Exit(2)
    if any(r.tumors_rejected or r.patients_rejected or r.warnings for r in results):
        raise typer.Exit(1)


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


@export_app.command("naaccr-xml")
def export_naaccr_xml(
    output: Annotated[Path, typer.Option("--output", "-o", help="The one file to write (.gz compresses).")],
    db: DbOption = DEFAULT_DB,
    batch: Annotated[list[int] | None, typer.Option(help="Batch to export (repeatable; default all).")] = None,
    identified: Annotated[bool, typer.Option(
        "--identified", help="Keep names, SSN, addresses and every other item as received (otherwise an "
                             "incidence file without direct identifiers).")] = False,
    dictionary: Annotated[list[Path] | None, typer.Option(help="User dictionary XML (repeatable).")] = None,
) -> None:
    """Export loaded batches into one NAACCR XML file; the export is recorded in the audit trail."""
    from pipelines.export import batch_ranges
    from pipelines.export import export_naaccr_xml as export
    from registry.operational import open_operational_store
    from registry.principal import console_operator

    if not db.exists():
        _say(f"{db}: no registry store here")
        raise typer.Exit(2)
    announce_initial_administrator(db)
    try:
        result = export(db, output, principal=console_operator(), ops=open_operational_store(db),
                        batch_ids=batch, identified=identified, user_dictionaries=_dictionaries(dictionary))
    except RegistryError as exc:
        _say(exc)
        raise typer.Exit(2) from exc
    kind = "identified" if result.identified else "without direct identifiers"
    out.print(printable(f"{result.patients:,} patients, {result.tumors:,} tumors of batch(es) "
                        f"{batch_ranges(result.batch_ids)} written to {output} ({kind})"),
              markup=False, highlight=False)


def _states_text(states: list[str], shown: int = 8) -> str:
    """State abbreviations, or their count and range when there are many."""
    if len(states) <= shown:
        return " ".join(states)
    return f"{len(states)} ({states[0]} ... {states[-1]})"


@population_app.command("load")
def population_load(
    paths: Annotated[list[str], typer.Argument(help="SEER population files, folders or globs (.gz is read "
                                                    "transparently).")],
    db: DbOption = DEFAULT_DB,
    user: Annotated[str | None, typer.Option(help="Recorded as the file's loader.")] = None,
) -> None:
    """Load SEER population files; each replaces the rows of the states and years it covers.

    Exit code 0 when every file loaded (or was already loaded), 2 when a file could not be read.
    """
    from pipelines.population import load_population
    from pipelines.records import SourceFileError

    files, missing = _expand(paths)
    for arg in missing:
        _say(f"{arg}: no such file or folder")
    failed = bool(missing)
    for path in files:
        try:
            result = load_population(path, db_path=db, user=user)
        except (SourceFileError, RegistryError) as exc:
            _say(exc)
            failed = True
            continue
        if result.status == "duplicate":
            _say(result.message, "yellow")
            continue
        replaced = f", replaced {result.replaced_rows:,} earlier rows" if result.replaced_rows else ""
        out.print(printable(f"{path}: load {result.load_id}: {result.rows:,} rows, years {result.first_year}-"
                            f"{result.last_year}, states {_states_text(result.states)}, total population "
                            f"{result.total_population:,}{replaced}"), markup=False, highlight=False)
    if failed:
        raise typer.Exit(2)


@population_app.command("summary")
def population_summary_command(db: DbOption = DEFAULT_DB) -> None:
    """Show the population in the store by state, and the files it came from."""
    from pipelines.population import population_loads, population_summary

    try:
        states = population_summary(db)
        loads = population_loads(db)
    except RegistryError as exc:
        _say(exc)
        raise typer.Exit(2) from exc
    if states.empty:
        out.print(printable(f"{db}: no population loaded (run `registry population load`)"), markup=False)
        return
    table = Table(title=_cell(f"Population in {db}"))
    for name in ("state", "years", "counties", "rows", "latest year population", "loads"):
        table.add_column(name, justify="left" if name in ("state", "years") else "right")
    for s in states.to_dict("records"):
        table.add_row(f"{s['state_abbr']} ({s['state_fips']})", f"{s['first_year']}-{s['last_year']} ({s['years']})",
                      f"{s['counties']:,}", f"{s['rows']:,}", f"{s['latest_population']:,}",
                      ", ".join(str(i) for i in s["load_ids"]))
    out.print(table)
    files = Table(title="Population files loaded")
    for name in ("load", "file", "rows", "years", "states", "total", "loaded"):
        files.add_column(name, overflow="fold", justify="left" if name in ("file", "states", "loaded") else "right")
    for f in loads.to_dict("records"):
        files.add_row(str(f["load_id"]), _cell(Path(str(f["file_name"])).name), f"{f['rows']:,}",
                      f"{f['first_year']}-{f['last_year']}", _states_text(list(f["states"])),
                      f"{f['total_population']:,}",
                      str(f["loaded_at"])[:16])
    out.print(files)


class _Steps:
    """Progress of long work made of named steps: a live line with the current step and the time it has
    taken (on a terminal), and one line per finished step with its duration (also when stderr is a file)."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                 console=console, transient=True)
        self._task = self.progress.add_task(title, total=None)
        self._step: str | None = None
        self._since = time.monotonic()

    def start(self, step: str) -> None:
        """Finish the current step (printing its duration) and show the next one."""
        self.finish()
        self._step, self._since = step, time.monotonic()
        self.progress.update(self._task, description=escape(f"{self.title}: {step}"))

    def finish(self) -> None:
        """Print the duration of the current step, if any."""
        if self._step is not None:
            self.progress.console.print(f"{self.title}: {self._step} ({time.monotonic() - self._since:.1f} s)",
                                        markup=False, highlight=False)
            self._step = None


@app.command()
def sample(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the generated files (replaced).")],
    preset: Annotated[str, typer.Option(help="tiny (tests), demo (a whole state) or bench (1M tumors).")] = "demo",
    tumors: Annotated[int | None, typer.Option(help="Target number of tumors (scales the population).")] = None,
    state: Annotated[str | None, typer.Option(help="State postal code, e.g. KS.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed; the same seed gives the same bytes.")] = None,
    defect_scale: Annotated[float, typer.Option(help="Multiply every defect rate (0 = clean data).")] = 1.0,
) -> None:
    """Generate a synthetic statewide registry: NAACCR files, population file, life table, truth."""
    from sample_data.config import DefectRates
    from sample_data.config import preset as make_preset
    from sample_data.generator import generate, write

    try:
        config = make_preset(preset, tumors=tumors, state=state.upper() if state else None, seed=seed,
                             defects=DefectRates().scaled(defect_scale) if defect_scale != 1.0 else None)
    except ValueError as exc:
        _say(exc)
        raise typer.Exit(2) from exc
    began = time.monotonic()
    steps = _Steps("sample registry")
    with steps.progress:
        registry = generate(config, progress=steps.start)
        manifest = write(registry, out_dir, progress=steps.start)
        steps.finish()
    elapsed = time.monotonic() - began
    counts = manifest.counts
    table = Table(title=_cell(f"Sample registry {config.state} {config.first_year}-{config.last_year} in {out_dir} "
                        f"({elapsed:.1f} s, {counts['tumors'] / elapsed:,.0f} tumors/s)"))
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, value in counts.items():
        table.add_row(name.replace("_", " "), f"{value:,}")
    out.print(table)


@app.command()
def batches(db: DbOption = DEFAULT_DB,
            limit: Annotated[int, typer.Option(help="Most recent batches to show.")] = 50) -> None:
    """List ingest batches with their record counts (as the console operator, an administrator: a file's
    counts of 1-15 show as suppressed)."""
    from registry.batches import list_batches
    from registry.principal import console_operator

    frame = list_batches(console_operator(), db, limit=limit)
    table = Table(title=_cell(f"Ingest batches in {db}"))
    for name in ("batch", "file", "format", "version", "status", "read", "loaded", "rejected", "warnings",
                 "finished"):
        if name == "file":
            table.add_column(name, overflow="fold")
        else:
            table.add_column(name, no_wrap=True, justify="right" if name not in ("format", "status") else "left")
    for r in frame.to_dict("records"):
        table.add_row(str(r["batch_id"]), _cell(Path(str(r["file_name"])).name), str(r["format"]),
                      str(r["naaccr_version"]), str(r["status"]),
                      *(_released_count(r[column]) for column in ("tumors_read", "tumors_loaded",
                                                                  "tumors_rejected", "warnings")),
                      str(r["finished_at"])[:16])
    out.print(table)


def _released_count(value: float | None) -> str:
    """A count as released: "1,234", or "suppressed" when the release policy withheld it (None or NaN)."""
    return "suppressed" if value is None or math.isnan(value) else f"{int(value):,}"


@app.command()
def info(db: DbOption = DEFAULT_DB) -> None:
    """Show the store's size, schema version and record counts."""
    from registry.batches import store_info
    from registry.principal import console_operator

    try:
        facts = store_info(console_operator(), db)
    except RegistryError as exc:
        _say(exc)
        raise typer.Exit(2) from exc
    table = Table(title="Registry store", show_header=False)
    for name, value in (
        ("path", str(facts.path)), ("size", f"{facts.size_bytes / 1e6:,.1f} MB"),
        ("schema version", str(facts.schema_version)),
        ("batches loaded / failed", f"{facts.batches_loaded} / {facts.batches_failed}"),
        ("patients", _released_count(facts.patients)), ("tumors", _released_count(facts.tumors)),
        ("rejected records", _released_count(facts.rejects)),
        ("diagnosis years", f"{facts.first_diagnosis_year}-{facts.last_diagnosis_year}"),
        ("last load", str(facts.last_loaded_at)[:16] if facts.last_loaded_at else "never"),
    ):
        table.add_row(name, _cell(value))
    out.print(table)


@app.command()
def template(
    output: Annotated[Path, typer.Option("--output", "-o", help="Template file (.csv or .xlsx).")],
    naaccr_version: Annotated[str, typer.Option(help="NAACCR version of the columns.")] = LATEST_VERSION,
) -> None:
    """Write a CSV or Excel data-entry template whose header row is NAACCR item ids."""
    from pipelines.template import write_template

    fmt = "xlsx" if output.suffix.lower() == ".xlsx" else "csv"
    write_template(output, naaccr_version=naaccr_version, fmt=fmt)
    out.print(printable(f"template for NAACCR v{naaccr_version} written to {output}"), markup=False, highlight=False)


@app.command()
def serve(db: DbOption = DEFAULT_DB,
          port: Annotated[int, typer.Option(help="Port of the dashboard.")] = 8501,
          address: Annotated[str, typer.Option(help="Network address to listen on: 127.0.0.1 (this machine "
                                                    "only) unless you mean to open the dashboard to a network, "
                                                    "e.g. 0.0.0.0 for every interface.")] = "127.0.0.1") -> None:
    """Start the dashboard (Streamlit), by default reachable from this machine only."""
    announce_initial_administrator(db)
    app_path = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
    env = {**os.environ, ENV_DB: str(db.resolve())}
    command = [sys.executable, "-m", "streamlit", "run", str(app_path), "--server.address", address,
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "viewer", "--client.showErrorDetails", "type"]
    host = f"[{address}]" if ":" in address else address
    where = "every network interface" if address in ("0.0.0.0", "::") else address
    console.print(f"Dashboard listening on {where}, port {port}: http://{host}:{port}", markup=False,
                  highlight=False)
    raise typer.Exit(run_until_stopped(command, env))


STOP_GRACE_SECONDS = 10.0


def run_until_stopped(command: list[str], env: dict[str, str]) -> int:
    """Run a child process (the dashboard server) until it ends or this command is stopped.

    Ctrl-C (SIGINT) and SIGTERM are forwarded to the child, and the command waits for it to exit (killing
    it after STOP_GRACE_SECONDS), so stopping `registry serve` never leaves the server holding its port.
    Returns the child's exit code, or 0 when it ended because it was asked to stop.
    """
    child = subprocess.Popen(command, env=env)
    stop_asked: list[float] = []

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)
        stop_asked.append(time.monotonic())

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                code = child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stop_asked and time.monotonic() - stop_asked[0] > STOP_GRACE_SECONDS:
                    child.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stop_asked else code


# ---- users and audit trail: the SQLite operational store beside --db (registry/operational.py) ----------
users_app = typer.Typer(help="Dashboard user accounts (operational store beside --db).", no_args_is_help=True)
app.add_typer(users_app, name="users")
audit_app = typer.Typer(help="The audit trail: show events, verify it has not been tampered with.",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def announce_initial_administrator(db: Path) -> None:
    """Open (or create) the operational store of db; on a new one, print the initial administrator's
    password once. Called by `registry users ...`; also meant for `registry serve` and `make demo`."""
    from registry.accounts import INITIAL_ADMINISTRATOR, ensure_initial_administrator
    from registry.operational import open_operational_store

    password = ensure_initial_administrator(open_operational_store(db))
    if password:
        console.print(f"New operational store: administrator {INITIAL_ADMINISTRATOR!r} created with password "
                      f"{password} (shown only now; it must be changed at first sign-in, or now with "
                      f"`registry users passwd {INITIAL_ADMINISTRATOR}`)",
                      style="bold yellow", markup=False, highlight=False)


def _users_call(db: Path, action: Callable[..., object]) -> object:
    """Run action(ops, actor) as the console operator; a refused request exits 2 with its message."""
    from registry.operational import open_operational_store
    from registry.principal import console_operator

    announce_initial_administrator(db)
    try:
        return action(open_operational_store(db), console_operator())
    except RegistryError as exc:
        console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from exc


@users_app.command("add")
def users_add(
    user: Annotated[str, typer.Argument(help="User name (unique, case-insensitive).")],
    role: Annotated[str, typer.Option(help="registrar, researcher or administrator.")],
    grant: Annotated[list[str] | None, typer.Option(help="Extra grant, e.g. lds (repeatable).")] = None,
    display_name: Annotated[str, typer.Option(help="Name shown in the dashboard.")] = "",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Create an account and print its generated password once (to be changed at first sign-in)."""
    from registry.accounts import create_user

    password = _users_call(db, lambda ops, actor: create_user(ops, user, role, grants=grant or (),
                                                              display_name=display_name, actor=actor))
    out.print(f"user {user!r} ({role}) created; password (shown only now): {password}", markup=False,
              highlight=False)


@users_app.command("disable")
def users_disable(user: Annotated[str, typer.Argument(help="User name.")], db: DbOption = DEFAULT_DB) -> None:
    """Stop an account from signing in (accounts are kept for the audit trail)."""
    from registry.accounts import disable_user

    _users_call(db, lambda ops, actor: disable_user(ops, user, actor=actor))
    out.print(f"user {user!r} disabled", markup=False, highlight=False)


@users_app.command("reset-password")
def users_reset_password(user: Annotated[str, typer.Argument(help="User name.")],
                         db: DbOption = DEFAULT_DB) -> None:
    """Give an account a new random password (printed once, to be changed at next sign-in)."""
    from registry.accounts import reset_password

    password = _users_call(db, lambda ops, actor: reset_password(ops, user, actor=actor))
    out.print(f"new password for {user!r} (shown only now): {password}", markup=False, highlight=False)


@users_app.command("passwd")
def users_passwd(
    user: Annotated[str, typer.Argument(help="User name.")],
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the new password from the first line of standard "
                                                        "input (for scripts) instead of asking twice.")] = False,
    must_change: Annotated[bool, typer.Option("--must-change", help="Make it temporary: the user must change "
                                                                    "it at next sign-in.")] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Set an account's password, typed without echo (e.g. the initial administrator's own); ends its
    dashboard sessions."""
    from registry.accounts import set_password

    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"New password for {user}", hide_input=True, confirmation_prompt=True)
    _users_call(db, lambda ops, actor: set_password(ops, user, password, must_change=must_change, actor=actor))
    out.print(f"password of {user!r} set" + ("; it must be changed at next sign-in" if must_change else ""),
              markup=False, highlight=False)


@users_app.command("demo")
def users_demo(db: DbOption = DEFAULT_DB) -> None:
    """Create the documented demo accounts, one per role (for demonstration stores only)."""
    from registry.accounts import DEMO_ACCOUNTS, ensure_demo_accounts
    from registry.operational import open_operational_store

    ensure_demo_accounts(open_operational_store(db))
    table = Table(title="Demo accounts (for the demo only; never on a store with real data)")
    for column in ("user", "password", "role"):
        table.add_column(column)
    for user, (role, password) in DEMO_ACCOUNTS.items():
        table.add_row(user, password, role)
    out.print(table)


@users_app.command("list")
def users_list(db: DbOption = DEFAULT_DB) -> None:
    """List accounts: role, grants, state and last sign-in (never password hashes)."""
    from registry.accounts import list_users
    from registry.operational import open_operational_store

    announce_initial_administrator(db)
    table = Table(title="User accounts")
    for name in ("user", "display name", "role", "grants", "state", "must change password", "last sign-in"):
        table.add_column(name)
    for a in list_users(open_operational_store(db)):
        table.add_row(_cell(a.user), _cell(a.display_name), a.role, ", ".join(sorted(a.grants)),
                      "disabled" if a.disabled else "active", "yes" if a.must_change_password else "",
                      (a.last_sign_in or "")[:19])
    out.print(table)


def _existing_ops(db: Path) -> Path:
    """The operational store of db, which must exist already (auditing commands never create one)."""
    from registry.operational import ops_path_for

    path = ops_path_for(db)
    if not path.exists():
        console.print(f"{path}: no operational store here", style="red", markup=False, highlight=False)
        raise typer.Exit(2)
    return db


@audit_app.command("show")
def audit_show(
    db: DbOption = DEFAULT_DB,
    user: Annotated[str | None, typer.Option(help="Only this user's events.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. sign-in-failed or export.")] = None,
    since: Annotated[str | None, typer.Option(help="Only from this UTC time on (ISO, e.g. 2026-01-31).")] = None,
    limit: Annotated[int, typer.Option(help="Most recent events to show.")] = 50,
) -> None:
    """Show the most recent audit events, newest first."""
    import json

    from registry.audit import events
    from registry.operational import open_operational_store

    found = events(open_operational_store(_existing_ops(db)), user=user, action=action, since=since, limit=limit)
    table = Table(title="Audit trail")
    for name in ("seq", "time (UTC)", "user", "role", "action", "detail"):
        table.add_column(name, overflow="fold", justify="right" if name == "seq" else "left")
    for e in found:
        detail = ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in e.detail.items())
        table.add_row(str(e.seq), e.occurred_at[:19], _cell(e.user), e.role, _cell(e.action), _cell(detail))
    out.print(table)


@audit_app.command("verify")
def audit_verify(
    db: DbOption = DEFAULT_DB,
    anchor: Annotated[str | None, typer.Option(help="SEQ:HASH printed by an earlier verify; detects a "
                                                    "rewritten or truncated chain.")] = None,
) -> None:
    """Check the audit trail (keyed chain, high-water mark, triggers, accounts): exit 0 when intact, 1 when
    tampered with, listing every problem with its sequence number."""
    from registry.audit import parse_anchor, verify_chain
    from registry.operational import open_operational_store

    try:
        mark = parse_anchor(anchor) if anchor else None
        result = verify_chain(open_operational_store(_existing_ops(db)), anchor=mark)
    except (ValueError, RegistryError) as exc:
        console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from exc
    if result.ok:
        out.print(result.message, markup=False, highlight=False)
        return
    console.print(result.message, style="bold red", markup=False, highlight=False)
    raise typer.Exit(1)
