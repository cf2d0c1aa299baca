"""The operational store's schema comes from its numbered `.sql` migrations and matches the pinned schema."""

from __future__ import annotations

import fnmatch
import json
import sqlite3
import tomllib
from pathlib import Path

from registry.audit import verify_chain
from registry.operational import AUDIT_TRIGGERS, MIGRATIONS
from registry.operational_store import open_operational_store

ROOT = Path(__file__).resolve().parents[1]
# sqlite_master of a new store at schema version 4 (type, name, tbl_name, sql), as the schema stood when
# it was still written in Python constants.
PINNED = ROOT / "tests" / "reference" / "operational_schema_v4.json"
OLD_NAMES = [(1, "0001_operational"), (2, "0002_released_cell"), (3, "0003_audit_event_account"),
             (4, "0004_web_session")]
# Migrations written as .sql files from the start, and the objects they add.
LATER_NAMES = [(5, "0005_link_review"), (6, "0006_worklist"), (7, "0007_export_request"), (8, "0008_breach")]
LATER_OBJECTS = {"link_review", "link_review_status", "sqlite_autoindex_link_review_1",
                 "work_item", "work_item_open_tumor", "work_item_status", "work_item_event",
                 "work_item_event_item", "export_request", "export_request_requester", "export_request_status",
                 "registry_setting", "sqlite_autoindex_registry_setting_1",
                 "breach_rule", "sqlite_autoindex_breach_rule_1", "breach_alert", "breach_alert_user",
                 "breach_alert_status", "breach_scan"}


def _schema(path: Path) -> list[list[str | None]]:
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    return [list(row) for row in rows]


def _pinned() -> list[list[str | None]]:
    return json.loads(PINNED.read_text(encoding="utf-8"))


def test_migrations_are_the_numbered_sql_files_in_order():
    folder = ROOT / "registry" / "migrations" / "operational"
    files = sorted(p.name for p in folder.glob("*.sql"))
    assert [f"{name}.sql" for _, name, _ in MIGRATIONS] == files
    assert [number for number, _, _ in MIGRATIONS] == list(range(1, len(files) + 1))
    assert [(number, name) for number, name, _ in MIGRATIONS][:4] == OLD_NAMES


def _split(schema: list[list[str | None]]) -> tuple[list[list[str | None]], set[str]]:
    """The objects of the pinned version 4, and the names of those later migrations added."""
    return [row for row in schema if row[1] not in LATER_OBJECTS], {str(row[1]) for row in schema
                                                                  if row[1] in LATER_OBJECTS}


def test_a_new_store_has_the_pinned_schema_and_the_later_migrations(tmp_path):
    ops = open_operational_store(path=tmp_path / "new.ops.sqlite")
    assert _split(_schema(ops.path)) == (_pinned(), LATER_OBJECTS)
    with sqlite3.connect(ops.path) as con:
        assert con.execute("SELECT number, name FROM schema_migration ORDER BY number").fetchall() == \
            OLD_NAMES + LATER_NAMES


def test_a_store_at_version_4_gains_only_the_later_migrations(tmp_path):
    path = tmp_path / "old.ops.sqlite"
    objects = [row for row in _pinned() if row[3] is not None]
    order = {"table": 0, "index": 1, "trigger": 2}
    with sqlite3.connect(path) as con:
        for _, _, _, sql in sorted(objects, key=lambda row: order[row[0]]):
            con.execute(sql)
        con.executemany("INSERT INTO schema_migration VALUES (?, ?, '2026-01-01T00:00:00.000000+00:00')", OLD_NAMES)
    before = _schema(path)
    ops = open_operational_store(path=path)
    assert _split(_schema(path)) == (before, LATER_OBJECTS)
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT number, name FROM schema_migration ORDER BY number").fetchall() == \
            OLD_NAMES + LATER_NAMES
    assert verify_chain(ops).ok


def test_audit_triggers_are_read_from_the_migration_files(tmp_path):
    ops = open_operational_store(path=tmp_path / "t.ops.sqlite")
    with sqlite3.connect(ops.path) as con:
        stored = dict(con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
    assert set(AUDIT_TRIGGERS) == {"audit_event_no_update", "audit_event_no_delete", "audit_event_extends_chain"}
    assert stored == AUDIT_TRIGGERS


def test_migration_files_ship_as_package_data():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    sql_files = [p.relative_to(ROOT / "registry").as_posix()
                 for p in (ROOT / "registry" / "migrations").rglob("*.sql")]
    assert sql_files
    for name in sql_files:
        assert any(fnmatch.fnmatch(name, pattern) and name.count("/") == pattern.count("/")
                   for pattern in package_data["registry"]), name
