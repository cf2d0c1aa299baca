"""`registry worklist` and `registry edits report` from the command line: sync, list, show and move an item,
write a query letter and an edit report, for a signed-in registrar (others refused)."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result
from typer.testing import CliRunner

from registry import accounts
from registry.audit import events
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.worklist import list_items
from registry_cli.app import app
from tests.dashboard_session import CHEAP_HASHER
from tests.test_worklist import PAYER, SITE_MORPH, add_failures, linked

__all__ = ["linked"]
PASSWORD = "a long enough test password 1"


@pytest.fixture
def store(linked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import shutil

    monkeypatch.setattr(accounts, "PASSWORD_HASHER", CHEAP_HASHER)
    shutil.copytree(linked.parent, tmp_path / "store")
    db = tmp_path / "store" / linked.name
    ops = open_operational_store(db)
    for name, role in (("ana", "registrar"), ("rex", "researcher")):
        accounts.create_user(ops, name, role, password=PASSWORD)
    add_failures(db, [SITE_MORPH, PAYER])
    return db


def run(*args: str) -> Result:
    return CliRunner(env={"COLUMNS": "200", "REGISTRY_PASSWORD": PASSWORD}).invoke(app, list(args))


def test_sync_then_list_show_and_move_an_item(store: Path) -> None:
    synced = run("worklist", "sync", "--db", str(store))
    assert synced.exit_code == 0, synced.output
    # the ingest put the two linkage questions on the worklist already: Thomas's failures make one item more
    assert "2 error failures and 2 linkage questions; 1 items created, 0 updated" in synced.output
    again = run("worklist", "sync", "--db", str(store))
    assert "0 items created, 0 updated, 0 resolved; 4 unfinished" in again.output
    listed = run("worklist", "list", "--user", "ana", "--db", str(store), "--edit", "N0441")
    assert listed.exit_code == 0, listed.output
    assert "N0441; N2001" in listed.output and "1000000001" in listed.output
    item_id = next(e.detail["work_items"] for e in events(open_operational_store(store), action="record-view"))[0]
    shown = run("worklist", "show", str(item_id), "--user", "ana", "--db", str(store), "--assign", "ana",
                "--due", "2027-02-01", "--query", "Please confirm the histology.")
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert "queried, priority 1, facility 1000000001, assigned to ana, due 2027-02-01" in text
    assert "query: Please confirm the histology." in text and "edit N0441 (error)" in text
    assert "open -> queried by ana: Please confirm the histology." in text
    illegal = run("worklist", "show", str(item_id), "--user", "ana", "--db", str(store), "--reopen", "again")
    assert illegal.exit_code == 2 and "cannot be moved to open" in illegal.output
    both = run("worklist", "show", str(item_id), "--user", "ana", "--db", str(store), "--answer", "a", "--resolve", "b")
    assert both.exit_code == 2 and "at most one of --answer, --resolve" in both.output
    closed = run("worklist", "show", str(item_id), "--user", "ana", "--db", str(store), "--close-valid",
                 "overRideSiteType", "--reason", "histology confirmed by pathology")
    assert closed.exit_code == 0, closed.output
    assert "closed-valid" in closed.output and "override: overRideSiteType" in closed.output


def test_letters_and_edit_reports_are_written_and_audited(store: Path, tmp_path: Path) -> None:
    run("worklist", "sync", "--db", str(store))
    item_id = next(i.work_item_id for i in list_items(Principal("ana", "registrar"), open_operational_store(store))
                   if i.registry_tumor_id == 2)   # Thomas's tumor
    run("worklist", "show", str(item_id), "--user", "ana", "--db", str(store), "--query", "Histology?")
    letter = tmp_path / "letter.csv"
    written = run("worklist", "letters", "--facility", "1000000001", "--format", "csv", "--out", str(letter),
                  "--user", "ana", "--db", str(store))
    assert written.exit_code == 0, written.output
    rows = pd.read_csv(letter, comment="#", dtype=str)
    assert list(rows["patient_id_number"]) == ["00000102"] and list(rows["question"]) == ["Histology?"]
    assert stat.S_IMODE(letter.stat().st_mode) == 0o600
    report = tmp_path / "edits.pdf"
    made = run("edits", "report", "--batch", "1", "--format", "pdf", "--out", str(report), "--user", "ana",
               "--db", str(store))
    assert made.exit_code == 0, made.output
    from pypdf import PdfReader
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(report.read_bytes())).pages)
    assert "N0441" in text and "00000102" in text
    assert [(e.user, e.detail["document"], e.detail["format"], e.detail["rows"], e.detail["file"])
            for e in events(open_operational_store(store), action="export")] == [
        ("ana", "edit-report", "pdf", 2, str(report.resolve())), ("ana", "query-letter", "csv", 1, str(letter.resolve()))]


def test_others_are_refused_and_bad_requests_explained(store: Path, tmp_path: Path) -> None:
    refused = run("worklist", "list", "--user", "rex", "--db", str(store))
    assert refused.exit_code == 2 and "may not worklist" in refused.output
    report = run("edits", "report", "--out", str(tmp_path / "r.csv"), "--user", "ana", "--db", str(store))
    assert report.exit_code == 2 and "give one of them" in report.output
    assert not (tmp_path / "r.csv").exists()
