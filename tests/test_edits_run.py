"""Running the coding edits on a small store: failures per report and registry tumor, a run replacing its
set's failures, override flags (the report's own and a registry correction), inter-record edits, the ingest
hook, `registry edits` and the dashboard's bring-up-to-date."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.load import ingest_file
from registry.edits import run_edits
from registry.errors import InvalidRequest
from registry.store import read_connection
from registry_cli.app import app
from tests.registry_reports import report, write_reports

COMPLETE = {"dateOfBirth": "19590412", "primaryPayerAtDx": "20", "summaryStage2018": "1", "gradeClinical": "9",
            "gradePathological": "2", "socialSecurityNumber": "412556789", "nameLast": "WHITFIELD",
            "nameFirst": "MARGARET"}
JOHN = {"nameLast": "OKAFOR", "nameFirst": "JOHN", "dateOfBirth": "19470102", "socialSecurityNumber": "523448812",
        "sex": "1", "primarySite": "C619", "histologicTypeIcdO3": "8140", "laterality": "0",
        "primaryPayerAtDx": "60", "summaryStage2018": "1", "gradeClinical": "9", "gradePathological": "9"}


def _reports() -> list[tuple[dict[str, str], dict[str, str]]]:
    return [
        report("1000000001", "00000101", **COMPLETE),                                   # clean
        report("1000000001", "00000102", **{**JOHN, "sex": "2"}),                      # prostate in a female
        report("1000000001", "00000103", **{**COMPLETE, "nameLast": "ADEYEMI", "nameFirst": "ANN", "dateOfBirth": "19700101",
                                            "socialSecurityNumber": "601224587",
                                            "histologicTypeIcdO3": "8170", "overRideSiteType": "1"}),
        report("1000000001", "00000104", **{**COMPLETE, "nameLast": "KOWALSKI", "nameFirst": "JOAN", "dateOfBirth": "19800202",
                                            "socialSecurityNumber": "733918264",
                                            "histologicTypeIcdO3": "8170"}),
    ]


def _failures(db: Path, level: int | None = None) -> set[tuple[int, str, str]]:
    with read_connection(db) as con:
        rows = con.execute("SELECT f.level, f.edit_id, p.patient_id_number FROM edit_failure f "
                           "JOIN tumor t ON f.level = 2 AND t.tumor_id = f.record_id "
                           "JOIN patient p ON p.patient_id = t.patient_id "
                           "UNION ALL SELECT f.level, f.edit_id, p.patient_id_number FROM edit_failure f "
                           "JOIN tumor_link l ON f.level = 3 AND l.registry_tumor_id = f.record_id "
                           "JOIN tumor t ON t.tumor_id = l.source_tumor_id "
                           "JOIN patient p ON p.patient_id = t.patient_id").fetchall()
    return {(int(lv), e, n) for lv, e, n in rows if level is None or lv == level}


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    db = tmp_path / "registry.duckdb"
    result = ingest_file(write_reports(tmp_path / "h1.xml", _reports()), db_path=db, user="tests")
    assert result.status == "loaded" and result.edit_errors is not None
    return db


def test_an_ingest_runs_both_sets_on_its_reports_and_their_registry_tumors(store: Path) -> None:
    found = _failures(store)
    assert (2, "sex-site", "00000102") in found and (3, "sex-site", "00000102") in found
    assert (2, "site-type", "00000104") in found and (3, "site-type", "00000104") in found
    assert not {f for f in found if f[2] == "00000101"}                 # the clean report passes every edit
    assert not {f for f in found if f[2] == "00000103"}                 # overRideSiteType clears site-type
    with read_connection(store) as con:
        runs = con.execute("SELECT edit_set, reports, tumors, failures FROM edit_run ORDER BY run_id").fetchall()
        message = con.execute("SELECT item_values, message FROM edit_failure WHERE edit_id = 'sex-site' "
                              "AND level = 2").fetchall()
    assert [(r[0], r[1], r[2]) for r in runs] == [("incoming", 4, 0), ("publication", 0, 4)]
    assert message == [("primarySite=C619; sex=2; sexAssignedAtBirth=",
                        "primary site C619 is not possible with sex 2")]


def test_a_run_replaces_its_sets_failures_on_what_it_covers(store: Path) -> None:
    before = _failures(store)
    with read_connection(store) as con:
        count = con.execute("SELECT count(*) FROM edit_failure").fetchall()[0][0]
    summary = run_edits(store, run_by="tests")
    again = run_edits(store, edit_set="incoming", batch_ids=[1], run_by="tests")
    with read_connection(store) as con:
        assert con.execute("SELECT count(*) FROM edit_failure").fetchall()[0][0] == count
    assert _failures(store) == before
    assert summary.reports == 4 and summary.tumors == 4 and summary.errors >= 4 and len(summary.run_ids) == 2
    assert again.tumors == 0 and again.reports == 4 and len(again.run_ids) == 1


def test_a_registry_correction_of_an_override_flag_clears_the_tumor_and_its_reports(store: Path) -> None:
    with read_connection(store) as con:
        tumor = con.execute("SELECT record_id FROM edit_failure WHERE level = 3 AND edit_id = 'site-type'"
                            ).fetchall()[0][0]
    con = duckdb.connect(str(store))
    con.execute("INSERT INTO registry_correction VALUES (1, 2, ?, 'overRideSiteType', NULL, '1', "
                "'reviewed: hepatocellular histology confirmed', NULL, 'ana', now())", [tumor])
    con.close()
    run_edits(store, registry_tumor_ids=[int(tumor)], run_by="tests")
    assert not {f for f in _failures(store) if f[1] == "site-type"}
    assert (2, "sex-site", "00000102") in _failures(store)


def test_reports_of_one_registry_patient_that_disagree_on_race(tmp_path: Path) -> None:
    db = tmp_path / "registry.duckdb"
    first = report("1000000001", "00000101", **COMPLETE)
    second = report("2000000002", "00007001", **{**COMPLETE, "race1": "02"})
    ingest_file(write_reports(tmp_path / "h1.xml", [first]), db_path=db, user="tests")
    ingest_file(write_reports(tmp_path / "h2.xml", [second]), db_path=db, user="tests")
    with read_connection(db) as con:
        rows = con.execute("SELECT severity, item_values FROM edit_failure WHERE edit_id = 'inter-race'").fetchall()
    assert rows == [("warning", "race1=01, 02")]


def test_an_unknown_edit_set_is_a_clear_error(store: Path) -> None:
    with pytest.raises(InvalidRequest, match="no edit set 'nightly'"):
        run_edits(store, edit_set="nightly", run_by="tests")


def test_the_command_runs_and_lists_the_edits_and_ingest_prints_a_summary(tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    db = tmp_path / "registry.duckdb"
    result = runner.invoke(app, ["ingest", str(write_reports(tmp_path / "a.xml", _reports())), "--db", str(db)])
    assert result.exit_code == 0, result.output      # edit failures never change the ingest's exit code
    assert "edits: 4 reports and 4 registry tumors edited" in result.output
    result = runner.invoke(app, ["edits", "run", "--db", str(db), "--set", "publication"])
    assert result.exit_code == 0 and "0 reports and 4 registry tumors edited" in result.output
    result = runner.invoke(app, ["edits", "run", "--db", str(db), "--batch", "1"])
    assert result.exit_code == 0 and "4 reports and 4 registry tumors edited" in result.output
    result = runner.invoke(app, ["edits", "run", "--db", str(db), "--set", "nightly"])
    assert result.exit_code == 2 and "no edit set" in result.output
    result = runner.invoke(app, ["edits", "list"])
    assert result.exit_code == 0 and "site-type" in result.output and "overRideSiteType" in result.output


def test_bring_up_to_date_edits_a_store_never_edited(tmp_path: Path) -> None:
    from registry_cli.serve import bring_up_to_date

    db = tmp_path / "registry.duckdb"
    ingest_file(write_reports(tmp_path / "a.xml", _reports()), db_path=db, user="tests", link=False)
    bring_up_to_date(db)
    with read_connection(db) as con:
        assert con.execute("SELECT count(*) FROM edit_run").fetchall()[0][0] == 2
    bring_up_to_date(db)
    with read_connection(db) as con:
        assert con.execute("SELECT count(*) FROM edit_run").fetchall()[0][0] == 2


def test_chunks_of_a_few_reports_give_the_same_failures(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from registry.edits import reading

    before = _failures(store)
    monkeypatch.setattr(reading, "REPORT_CHUNK", 3)       # the one batch of 4 reports read in two pieces
    monkeypatch.setattr(reading, "TUMOR_CHUNK", 1)
    summary = run_edits(store, run_by="tests")
    assert summary.reports == 4 and summary.tumors == 4
    assert _failures(store) == before


def test_batches_loaded_without_linkage_are_edited_when_linked(tmp_path: Path) -> None:
    from registry.edits import unedited_batches

    db = tmp_path / "registry.duckdb"
    ingest_file(write_reports(tmp_path / "a.xml", _reports()[:2]), db_path=db, user="tests")
    ingest_file(write_reports(tmp_path / "b.xml", _reports()[2:]), db_path=db, user="tests", link=False)
    assert unedited_batches(db) == [2]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["link", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "edits: 2 reports and 2 registry tumors edited" in result.output
    assert unedited_batches(db) == []
    run_edits(db, run_by="tests")
    assert unedited_batches(db) == []
