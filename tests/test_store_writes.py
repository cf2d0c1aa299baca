"""One write path per store: only `registry/store_writes.py` changes the DuckDB analytic store.

What counts as a write: any SQL string literal (f-strings included, docstrings excluded) holding INSERT,
UPDATE ... SET, DELETE FROM, CREATE, ALTER, DROP, TRUNCATE, COPY table FROM/TO a file, ATTACH, DETACH or CHECKPOINT,
in any case. Such statements may appear only in
- `registry/store_writes.py` (the analytic store);
- the operational store's modules, which hold SQLite connections only (checked: they import no DuckDB);
- the loader's staging modules, which run on the loader's private staging database: they never hold a
  writable handle on the store, because only `registry/store.py` and `registry/store_writes.py` open it
  (checked below), and the loader's own DuckDB connection is its staging file.
`bench/stats_bench.py`, `bench/edits_bench.py`, `bench/cohort_bench.py` and `bench/cohort_export_bench.py`
write synthetic benchmark stores directly and are left out of the scan.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb

from registry.site_recode import site_recode
from registry.store import migrations, read_connection
from registry.store_writes import ensure_store

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("registry", "pipelines", "dashboard", "sample_data", "scripts", "bench")
NOT_SCANNED = {"bench/stats_bench.py", "bench/edits_bench.py", "bench/cohort_bench.py",
               "bench/cohort_export_bench.py"}   # synthetic store builders
STORE_WRITES = "registry/store_writes.py"
STORE = "registry/store.py"
OPERATIONAL = {f"registry/{name}.py" for name in
               ("operational", "accounts", "audit", "audit_seal", "sessions", "suppression", "link_review",
                "worklist", "export_requests", "breach")}
STAGING = {"pipelines/load.py", "pipelines/validation.py", "pipelines/typed_core.py", "pipelines/report_versions.py",
           "pipelines/readers/xml_bulk.py", "pipelines/staging.py"}
WRITE_SQL = re.compile(
    r"\b(INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(OR\s+REPLACE\s+)?(TEMP\s+|TEMPORARY\s+|UNIQUE\s+)?(TABLE|VIEW|INDEX|SEQUENCE|MACRO|TYPE|SCHEMA|TRIGGER)|"
    r"ALTER\s+TABLE|DROP\s+(TABLE|VIEW|INDEX|SEQUENCE|MACRO|TYPE|SCHEMA|TRIGGER)|TRUNCATE\s+\w|"
    r"COPY\s+[\w.{}]+(\s*\([^)]*\))?\s+(FROM|TO)\s+['?({]|ATTACH\s+(DATABASE\s+)?(IF\s+NOT\s+EXISTS\s+)?['?{]|DETACH\s+\w|CHECKPOINT\b)",
    re.IGNORECASE)
# Ways to get a writable handle on the store: only its own modules may use them.
STORE_HANDLES = re.compile(r"\b(write_connection|connect_with_retry|retry_while_locked|read_only\s*=\s*False)\b")


def _modules() -> dict[str, str]:
    found = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name not in NOT_SCANNED:
                found[name] = path.read_text(encoding="utf-8")
    return found


def _sql_strings(source: str) -> list[str]:
    """Every string literal of a module except docstrings, f-string fields kept as `{}`."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    texts: list[tuple[int, int, str]] = []
    inside_fstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                inside_fstrings.add(id(part))
                parts.append(str(part.value) if isinstance(part, ast.Constant) else "{}")
            texts.append((node.lineno, node.col_offset, "".join(parts)))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                and id(node) not in inside_fstrings):
            texts.append((node.lineno, node.col_offset, node.value))
    return [text for _, _, text in sorted(texts)]


def write_statements(source: str) -> list[str]:
    """The SQL write statements (first 60 characters) written in a module's string literals."""
    return [text.strip()[:60] for text in _sql_strings(source) if WRITE_SQL.search(text)]


def test_the_detector_finds_writes_in_any_spelling():
    source = '''
def f(con, alias):
    """Docstrings may say INSERT INTO x."""
    con.execute(f"insert into {alias}.tumor SELECT 1")
    con.execute("update tumor set site_recode = NULL")
    con.execute("DELETE " "FROM population")
    con.execute(f"ATTACH {alias!r} AS store")
    con.execute("SELECT count(*) FROM tumor")
    raise ValueError("cannot update the store; delete the file and copy it from a backup")
'''
    assert write_statements(source) == ["insert into {}.tumor SELECT 1", "update tumor set site_recode = NULL",
                                        "DELETE FROM population", "ATTACH {} AS store"]


def test_only_store_writes_and_sqlite_or_staging_modules_hold_write_statements():
    allowed = {STORE_WRITES} | OPERATIONAL | STAGING
    offenders = {name: found for name, source in _modules().items()
                 if name not in allowed and (found := write_statements(source))}
    assert offenders == {}
    assert write_statements(_modules()[STORE_WRITES])


def test_operational_modules_have_no_handle_on_the_analytic_store():
    for name in sorted(OPERATIONAL):
        tree = ast.parse(_modules()[name])
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {f"{node.module}.{alias.name}" for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module for alias in node.names}
        assert not {i for i in imported if i.startswith(("duckdb", "registry.store_writes"))
                    or i in ("registry.store.read_connection", "registry.store.transaction")}, name


def test_only_the_store_modules_open_it_for_writing():
    offenders = {name for name, source in _modules().items()
                 if name not in (STORE, STORE_WRITES) and STORE_HANDLES.search(source)}
    assert offenders == set()
    connects = {name: re.findall(r"duckdb\.connect\(([^\n]*)", source) for name, source in _modules().items()}
    connects = {name: args for name, args in connects.items() if args}
    # The store's opener, the loader's private staging file, in-memory databases for splink's work, for the
    # content order of training rows, for a search's identity row and for casting an unusual age text as the
    # typed core always has, and in-memory databases in the ingest and linkage benches.
    assert connects == {STORE: ["str(db_path), read_only=read_only), db_path, timeout)"],
                        "pipelines/load.py": ['str(work / "stage.duckdb"))'],
                        "pipelines/typed_core.py": [") as con:"],
                        "registry/linkage/find.py": [")"],
                        "registry/linkage/model.py": [")", ")"],
                        "bench/ingest_bench.py": [") as con:"],
                        "bench/linkage_bench.py": [")"]}


def test_upgrading_an_older_store_backfills_the_site_recode(tmp_path):
    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE schema_migration "
                    "(number INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)")
        for number, name, sql in migrations()[:2]:
            con.execute(sql)
            con.execute("INSERT INTO schema_migration VALUES (?, ?, now())", [number, name])
        con.execute("INSERT INTO tumor (tumor_id, patient_id, batch_id, tumor_seq, primary_site, histology, "
                    "behavior, diagnosis_year) VALUES (1, 1, 1, 1, 'C509', '8500', '3', 2020), "
                    "(2, 1, 1, 2, 'C619', '8140', '3', 2021)")
    assert ensure_store(db) == [name for _, name, _ in migrations()[2:]]
    with read_connection(db) as con:
        codes = [code for _, code in con.execute("SELECT tumor_id, site_recode FROM tumor ORDER BY tumor_id").fetchall()]
    # Breast and prostate, as registry.site_recode codes them at load.
    assert codes == site_recode(["C509", "C619"], ["8500", "8140"], ["3", "3"], dx_year=[2020, 2021]).tolist()
    assert codes[0] == "39" and codes[1] != codes[0]
    assert ensure_store(db) == []


# ---- the operational store: each table's SQL in the module of its concern ---------------------------------

TABLE_OWNERS = {
    "account": "registry/accounts.py",
    "sign_in_attempt": "registry/accounts.py",
    "web_session": "registry/sessions.py",
    "audit_event": "registry/audit.py",
    "released_cell": "registry/suppression.py",
    "saved_definition": "registry/operational.py",
    "link_review": "registry/link_review.py",
    "schema_migration": "registry/operational.py",
    "work_item": "registry/worklist.py",
    "work_item_event": "registry/worklist.py",
    "export_request": "registry/export_requests.py",
    "registry_setting": "registry/export_requests.py",
}
# Reads across concerns: verifying the audit trail compares every account row with its chained state, a
# session follows its account (enabled, role, grants) on every use, and the trail's seal reads the events
# it seals.
ALSO_READ_BY = {"account": {"registry/audit.py", "registry/sessions.py"}, "audit_event": {"registry/audit_seal.py", "registry/audit_search.py"}}
TABLE_WRITE = re.compile(r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)
TABLE_READ = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)", re.IGNORECASE)


def _table_uses(pattern: re.Pattern[str]) -> dict[str, set[str]]:
    """table -> the operational modules whose SQL strings use it with `pattern`."""
    uses: dict[str, set[str]] = {}
    for name in OPERATIONAL:
        for text in _sql_strings(_modules()[name]):
            for table in pattern.findall(text):
                if table.lower() in TABLE_OWNERS:
                    uses.setdefault(table.lower(), set()).add(name)
    return uses


def test_each_operational_table_is_written_only_by_its_module():
    assert _table_uses(TABLE_WRITE) == {table: {owner} for table, owner in TABLE_OWNERS.items()}


def test_each_operational_table_is_read_only_by_its_module_and_named_readers():
    for table, readers in _table_uses(TABLE_READ).items():
        assert readers <= {TABLE_OWNERS[table]} | ALSO_READ_BY.get(table, set()), table
