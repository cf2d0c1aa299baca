"""`registry audit alerts | contain | breach-report | rules`: breach detection from the command line."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from registry import accounts, breach
from registry.audit import events, record_event
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.record_view import patient_record
from registry.store import read_connection
from registry_cli.app import app
from tests.dashboard_session import CHEAP_HASHER
from tests.registry_reports import two_hospitals_store

runner = CliRunner(env={"COLUMNS": "250"})
REGISTRAR = Principal("reg1", "registrar")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_hospitals_store(tmp_path_factory.mktemp("breach-cli"))


@pytest.fixture
def db(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(built.parent, tmp_path / "store")
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", CHEAP_HASHER)
    path = tmp_path / "store" / built.name
    accounts.create_user(open_operational_store(path), REGISTRAR.user, "registrar", password="a long password 1")
    return path


def test_alerts_and_containment(db: Path) -> None:
    ops = open_operational_store(db)
    for _ in range(5):
        record_event(ops, REGISTRAR, "access-refused", action="record-view")
    shown = runner.invoke(app, ["audit", "alerts", "--db", str(db), "--status", "open"])
    assert shown.exit_code == 0 and "refusals" in shown.output and "reg1" in shown.output
    refused = runner.invoke(app, ["audit", "contain", "reg1", "--db", str(db), "--reason", " "])
    assert refused.exit_code == 2 and "needs a reason" in refused.output
    done = runner.invoke(app, ["audit", "contain", "reg1", "--db", str(db), "--reason", "probing records"])
    assert done.exit_code == 0 and "reg1: disabled, sessions ended; alerts contained: 1" in done.output
    assert accounts.get_user(ops, "reg1").disabled
    [contained] = events(ops, action="account-contained")
    assert contained.user.startswith("console:") and contained.detail["reason"] == "probing records"


def test_rules_are_shown_and_set(db: Path) -> None:
    done = runner.invoke(app, ["audit", "rules", "--db", str(db), "--set", "refusals.refusals=3",
                               "--set", "off-hours.weekdays=Mon,Tue,Wed", "--set", "off-hours.time_zone=UTC"])
    assert done.exit_code == 0 and "refusals" in done.output
    settings = breach.rules(open_operational_store(db))
    assert settings[breach.REFUSALS]["refusals"] == 3 and settings[breach.OFF_HOURS]["weekdays"] == ["Mon", "Tue", "Wed"]
    for bad, message in (("refusals.refusals=many", "not a number"), ("refusals=3", "RULE.THRESHOLD=VALUE"),
                         ("nosuch.views=3", "unknown breach rule")):
        refused = runner.invoke(app, ["audit", "rules", "--db", str(db), "--set", bad])
        assert refused.exit_code == 2 and message in refused.output


def test_the_breach_report_is_written_as_csv_or_pdf(db: Path, tmp_path: Path) -> None:
    with read_connection(db) as con:
        patient = int(con.execute("SELECT min(patient_id) FROM registry_patient").fetchall()[0][0])
    patient_record(REGISTRAR, db, open_operational_store(db), patient_id=patient)
    today = datetime.now(UTC).date()
    window = ["--from", (today - timedelta(days=1)).isoformat(), "--to", today.isoformat()]
    written = runner.invoke(app, ["audit", "breach-report", "reg1", "--db", str(db), *window,
                                  "--out", str(tmp_path / "r.csv")])
    assert written.exit_code == 0 and "1 rows from 1 events, 1 registry patients" in written.output
    [row] = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert row["patient_id"] == str(patient) and row["name_last"] == "WHITFIELD"
    pdf = runner.invoke(app, ["audit", "breach-report", "reg1", "--db", str(db), *window,
                              "--out", str(tmp_path / "r.pdf")])
    assert pdf.exit_code == 0 and (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    wrong = runner.invoke(app, ["audit", "breach-report", "reg1", "--db", str(db), *window,
                                "--out", str(tmp_path / "r.txt")])
    assert wrong.exit_code == 2 and ".csv or .pdf" in wrong.output
    late = runner.invoke(app, ["audit", "breach-report", "reg1", "--db", str(db), "--from", "yesterday",
                               "--to", today.isoformat(), "--out", str(tmp_path / "x.csv")])
    assert late.exit_code == 2 and "not an ISO date" in late.output
