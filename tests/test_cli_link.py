"""`registry link`, `registry link review` and `registry find-patient`: linking from the command line, the
review queue and look-ups for a signed-in registrar (others refused)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from registry import accounts
from registry.audit import events
from registry.link_review import ReviewPair, queue_pairs
from registry.operational_store import open_operational_store
from registry_cli.app import app
from tests.dashboard_session import CHEAP_HASHER
from tests.registry_reports import report, write_reports

PASSWORD = "a long enough test password 1"


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", CHEAP_HASHER)
    db = tmp_path / "registry.duckdb"
    people = [report("1000000001", "00000101", nameLast="WHITFIELD", nameFirst="MARGARET", dateOfBirth="19590412",
                     socialSecurityNumber="412556789", medicalRecordNumber="MR-4471"),
              report("2000000002", "00007001", nameLast="WHITFIELD", nameFirst="PEGGY", dateOfBirth="19590412",
                     socialSecurityNumber="412556789")]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["ingest", str(write_reports(tmp_path / "a.xml", people)), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "linked 2 patient reports: 1 registry patients, 1 registry tumors" in result.output
    ops = open_operational_store(db)
    for name, role in (("ana", "registrar"), ("rex", "researcher")):
        accounts.create_user(ops, name, role, password=PASSWORD)
    return db


def _run(*args: str) -> object:
    return CliRunner(env={"COLUMNS": "200", "REGISTRY_PASSWORD": PASSWORD}).invoke(app, list(args))


def test_link_reports_what_it_did_and_applies_nothing_twice(store: Path) -> None:
    result = _run("link", "--db", str(store))
    assert result.exit_code == 0, result.output
    assert "2 patient reports -> 1 registry patients, 1 registry tumors; 0 newly linked" in result.output


def test_find_patient_for_a_registrar_by_ssn_and_by_mrn(store: Path) -> None:
    by_ssn = _run("find-patient", "--user", "ana", "--db", str(store), "--ssn", "412-55-6789")
    assert by_ssn.exit_code == 0, by_ssn.output
    assert "WHITFIELD" in by_ssn.output and "...6789" in by_ssn.output
    by_mrn = _run("find-patient", "--user", "ana", "--db", str(store), "--mrn", "MR-4471")
    assert "WHITFIELD" in by_mrn.output
    searches = events(open_operational_store(store), user="ana", action="find-patient")
    assert len(searches) == 2 and searches[0].detail["searched"] == ["medicalRecordNumber"]


def test_find_patient_refuses_a_researcher_and_names_a_bad_field(store: Path) -> None:
    refused = _run("find-patient", "--user", "rex", "--db", str(store), "--last-name", "WHITFIELD")
    assert refused.exit_code == 2 and "may not find patient" in refused.output
    bad = _run("find-patient", "--user", "ana", "--db", str(store), "--birth-date", "1959-13-45")
    assert bad.exit_code == 2 and "date_of_birth" in bad.output


def test_review_lists_and_decides_a_pair(store: Path) -> None:
    queue_pairs(open_operational_store(store), [ReviewPair("patient", "1000000001/00000101", "3000000003/00000009",
                                                           4.2, {"reason": "band", "name_last": 6.1})])
    listed = _run("link", "review", "--user", "ana", "--db", str(store))
    assert listed.exit_code == 0, listed.output
    assert "1000000001/00000101" in listed.output and "name_last +6.1" in listed.output
    decided = _run("link", "review", "--user", "ana", "--db", str(store), "--decide", "1", "--decision", "different",
                   "--reason", "different mothers")
    assert decided.exit_code == 0 and "different persons" in decided.output
    assert events(open_operational_store(store), user="ana", action="link-review-decided")


def test_thresholds_are_configurable_and_kept_with_a_new_model_version(store: Path) -> None:
    from registry.linkage_store import current_model
    from registry.store import read_connection

    result = _run("link", "--db", str(store), "--upper", "9", "--lower", "3")
    assert result.exit_code == 0, result.output
    with read_connection(store) as con:
        model = current_model(con)
    assert model is not None and (model.version, model.upper_threshold, model.lower_threshold) == (2, 9.0, 3.0)
    wrong = _run("link", "--db", str(store), "--upper", "2", "--lower", "3")
    assert wrong.exit_code == 2 and "lower threshold 3.0 is above the upper threshold 2.0" in wrong.output
    alone = _run("link", "--db", str(store), "--upper", "9")
    assert alone.exit_code == 2 and "go together" in alone.output


def test_reports_left_unlinked_are_linked_by_the_next_ingest_or_serve(tmp_path: Path) -> None:
    from registry.linkage_store import entity_counts
    from registry.store import read_connection
    from registry_cli.serve import bring_up_to_date

    people = [report("1000000001", "00000101", nameLast="OKAFOR", nameFirst="THOMAS", dateOfBirth="19470102")]
    path = write_reports(tmp_path / "a.xml", people)
    for name, follow_up in (("ingest", ["ingest", str(path)]), ("serve", None)):
        db = tmp_path / name / "registry.duckdb"
        first = CliRunner().invoke(app, ["ingest", str(path), "--db", str(db), "--no-link"])
        assert first.exit_code == 0, first.output
        with read_connection(db) as con:
            assert entity_counts(con).unlinked_reports == 1
        if follow_up:   # the same file again: nothing loads, but the waiting report is linked
            again = CliRunner(env={"COLUMNS": "200"}).invoke(app, [*follow_up, "--db", str(db)])
            assert "already loaded" in again.output and "linked 1 patient reports" in again.output
        else:
            bring_up_to_date(db)
        with read_connection(db) as con:
            counts = entity_counts(con)
        assert (counts.unlinked_reports, counts.registry_patients, counts.registry_tumors) == (0, 1, 1)
