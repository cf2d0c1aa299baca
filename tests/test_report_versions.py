"""Re-sent reports: the same facility, patient id number and tumor record number again adds nothing when its
content is the same, and is a newer version of the report when it is not; the registry follows the newest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.batch_result import BatchResult
from pipelines.export import export_naaccr_xml
from pipelines.load import ingest_file
from pipelines.naaccr_xml_writer import NaaccrXmlWriter
from registry.naaccr import base_dictionary
from registry.operational_store import open_operational_store
from registry.principal import console_operator
from registry.store import read_connection
from tests.registry_reports import report

Patient = tuple[dict[str, str], list[dict[str, str]]]
ANN = {"nameLast": "BRANDT", "nameFirst": "ANN", "dateOfBirth": "19600101", "socialSecurityNumber": "412000111"}
LEO = {"nameLast": "MARSH", "nameFirst": "LEO", "dateOfBirth": "19450707", "socialSecurityNumber": "523000222",
       "sex": "1", "primarySite": "C619", "histologicTypeIcdO3": "8140", "laterality": "0"}


def _write(path: Path, patients: Sequence[Patient], *, hour: int = 8) -> Path:
    """A NAACCR v25 XML file of these patients; `hour` sets timeGenerated, so two files of the same records
    differ by a byte."""
    with NaaccrXmlWriter(path, dictionary=base_dictionary("250"), record_type="A",
                         time_generated=datetime(2024, 5, 1, hour, tzinfo=UTC)) as writer:
        for patient, tumors in patients:
            writer.write_patient(patient, tumors)
    return path


def _patient(facility: str, number: str, *tumors: dict[str, str], **items: str) -> Patient:
    """One patient record with its tumor records: each tumor's items over a report's defaults."""
    built = [report(facility, number, **{**items, **tumor}) for tumor in tumors]
    return built[0][0], [tumor for _, tumor in built]


def _ann(**changes: str) -> Patient:
    return _patient("1000000001", "00000101", {"tumor_number": "01", **changes},
                    {"tumor_number": "02", "primarySite": "C180", "histologicTypeIcdO3": "8140", "laterality": "0",
                     "dateOfDiagnosis": "20210611"}, **ANN)


def _leo(**changes: str) -> Patient:
    return _patient("1000000001", "00000102", {"tumor_number": "01", **changes}, **LEO)


def _counts(db: Path) -> dict[str, int]:
    with read_connection(db) as con:
        return {table: int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
                for table in ("source_patient", "source_tumor", "source_item", "patient", "tumor", "treatment",
                              "registry_patient", "registry_tumor", "source_tumor_superseded")}


def _accounted(result: BatchResult) -> None:
    assert result.tumors_read == result.tumors_loaded + result.tumors_rejected + result.tumors_unchanged
    assert result.patients_read == result.patients_loaded + result.patients_rejected + result.patients_unchanged


def _ingest(path: Path, db: Path) -> BatchResult:
    result = ingest_file(path, db_path=db, user="tests")
    assert result.status == "loaded", result.message
    _accounted(result)
    return result


def test_identical_resend_in_a_file_differing_by_a_byte_adds_nothing(tmp_path: Path) -> None:
    db = tmp_path / "registry.duckdb"
    first = _ingest(_write(tmp_path / "may.xml", [_ann(), _leo()]), db)
    before = _counts(db)
    again = _ingest(_write(tmp_path / "may-again.xml", [_ann(), _leo()], hour=9), db)
    assert (first.tumors_loaded, first.tumors_unchanged) == (3, 0)
    assert (again.tumors_read, again.tumors_loaded, again.tumors_rejected, again.tumors_unchanged) == (3, 0, 0, 3)
    assert (again.patients_read, again.patients_loaded, again.patients_unchanged) == (2, 0, 2)
    assert _counts(db) == before
    with read_connection(db) as con:
        rows = con.execute("SELECT tumors_read, tumors_loaded, tumors_rejected, tumors_unchanged, patients_read, "
                           "patients_loaded, patients_rejected, patients_unchanged FROM ingest_batch "
                           "ORDER BY batch_id").fetchall()
    assert rows == [(3, 3, 0, 0, 2, 2, 0, 0), (3, 0, 0, 3, 2, 0, 0, 2)]


def test_changed_resend_is_a_new_version_and_the_registry_follows_it(tmp_path: Path) -> None:
    db = tmp_path / "registry.duckdb"
    _ingest(_write(tmp_path / "may.xml", [_ann(), _leo()]), db)
    with read_connection(db) as con:
        registry_before = con.execute("SELECT tumor_id, patient_id FROM registry_tumor ORDER BY tumor_id").fetchall()
        leo_tumor = con.execute("SELECT l.registry_tumor_id FROM tumor_link l JOIN tumor t "
                                "ON t.tumor_id = l.source_tumor_id WHERE t.primary_site = 'C619'").fetchall()[0][0]
    # Leo's report corrected: another histology and the sex recorded wrongly before.
    corrected = _patient("1000000001", "00000102", {"tumor_number": "01", "histologicTypeIcdO3": "8550"},
                         **{**LEO, "sex": "2"})
    again = _ingest(_write(tmp_path / "june.xml", [_ann(), corrected], hour=9), db)
    assert (again.tumors_loaded, again.tumors_unchanged, again.patients_loaded, again.patients_unchanged) == (1, 2, 1, 1)
    with read_connection(db) as con:
        superseded = con.execute("""SELECT s.tumor_id >> 32, s.superseded_by >> 32, s.batch_id, s.version,
                                           s.reporting_facility, s.patient_id_number, s.tumor_record_number
                                    FROM source_tumor_superseded s""").fetchall()
        kept = con.execute("SELECT batch_id, histology FROM tumor WHERE primary_site = 'C619' "
                           "ORDER BY batch_id").fetchall()
        registry_after = con.execute("SELECT tumor_id, patient_id FROM registry_tumor ORDER BY tumor_id").fetchall()
        leo = con.execute("""SELECT t.histology, p.sex FROM registry_tumor t JOIN registry_patient p USING (patient_id)
                             WHERE t.tumor_id = ?""", [leo_tumor]).fetchall()
        links = con.execute("""SELECT t.batch_id, l.registry_tumor_id FROM tumor_link l
                               JOIN tumor t ON t.tumor_id = l.source_tumor_id WHERE t.primary_site = 'C619'
                               ORDER BY t.batch_id""").fetchall()
        sources = con.execute("SELECT source_id >> 32 FROM consolidated_value WHERE level = 2 AND entity_id = ? "
                              "AND item = 'histology'", [leo_tumor]).fetchall()
    assert superseded == [(1, 2, 2, 1, "1000000001", "00000102", "01")]
    assert kept == [(1, "8140"), (2, "8550")]                  # the earlier version kept as received
    assert registry_after == registry_before                   # no extra registry tumor or patient
    assert leo == [("8550", "2")]                               # the registry follows the newest version
    assert links == [(1, leo_tumor), (2, leo_tumor)]
    assert sources == [(2,)]


def test_the_earlier_batch_exports_as_it_was_received(tmp_path: Path) -> None:
    db = tmp_path / "registry.duckdb"
    _ingest(_write(tmp_path / "may.xml", [_ann(), _leo()]), db)
    ops = open_operational_store(db)

    def exported(name: str) -> list[str]:
        export_naaccr_xml(db, tmp_path / name, principal=console_operator(), ops=ops, batch_ids=[1], identified=True)
        return [line for line in (tmp_path / name).read_text().splitlines() if "timeGenerated" not in line]

    before = exported("before.xml")
    _ingest(_write(tmp_path / "june.xml", [_ann(histologicTypeIcdO3="8520"), _leo()], hour=9), db)
    assert exported("after.xml") == before
    assert any("8500" in line for line in before)


def test_reports_without_the_three_key_items_are_not_versioned(tmp_path: Path) -> None:
    db = tmp_path / "registry.duckdb"
    unnumbered = _patient("1000000001", "00000103", {"tumorRecordNumber": ""}, **ANN)
    no_facility = _patient("", "00000104", {}, **LEO)
    _ingest(_write(tmp_path / "may.xml", [unnumbered, no_facility]), db)
    again = _ingest(_write(tmp_path / "may-again.xml", [unnumbered, no_facility], hour=9), db)
    assert (again.tumors_loaded, again.tumors_unchanged) == (2, 0)     # loaded again, as before versions existed
    assert _counts(db)["source_tumor"] == 4
    assert _counts(db)["source_tumor_superseded"] == 0


def test_the_same_key_twice_in_one_file_the_later_is_the_newer_version(tmp_path: Path) -> None:
    db = tmp_path / "registry.duckdb"
    result = _ingest(_write(tmp_path / "may.xml", [_leo(), _leo(), _leo(laterality="9"), _ann()]), db)
    # The second is the first again (unchanged); the third changes it.
    assert (result.tumors_read, result.tumors_loaded, result.tumors_unchanged) == (5, 4, 1)
    assert (result.patients_read, result.patients_loaded, result.patients_unchanged) == (4, 3, 1)
    with read_connection(db) as con:
        superseded = con.execute("SELECT tumor_id & 4294967295, superseded_by & 4294967295, version "
                                 "FROM source_tumor_superseded").fetchall()
        registry = con.execute("SELECT laterality FROM registry_tumor WHERE primary_site = 'C619'").fetchall()
    assert superseded == [(1, 3, 1)]          # tumor #1 superseded by tumor #3 (#2 was set aside)
    assert registry == [("9",)]


def test_a_rejected_resend_supersedes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "registry.duckdb"
    _ingest(_write(tmp_path / "may.xml", [_leo()]), db)
    result = _ingest(_write(tmp_path / "june.xml", [_leo(laterality="12")], hour=9), db)   # too long: rejected
    assert (result.tumors_rejected, result.tumors_unchanged, result.tumors_loaded) == (1, 0, 0)
    assert _counts(db)["source_tumor_superseded"] == 0
    again = _ingest(_write(tmp_path / "july.xml", [_leo()], hour=10), db)
    assert again.tumors_unchanged == 1


def test_a_version_loaded_without_linking_follows_when_linked(tmp_path: Path) -> None:
    from pipelines.registry_link import link_registry

    db = tmp_path / "registry.duckdb"
    _ingest(_write(tmp_path / "may.xml", [_leo()]), db)
    for hour, histology in ((9, "8550"), (10, "8560")):
        path = _write(tmp_path / f"v{hour}.xml", [_leo(histologicTypeIcdO3=histology)], hour=hour)
        assert ingest_file(path, db_path=db, user="tests", link=False).tumors_loaded == 1
    link_registry(db, user="tests")
    with read_connection(db) as con:
        registry = con.execute("SELECT tumor_id, histology FROM registry_tumor").fetchall()
        versions = con.execute("SELECT version, superseded_by >> 32 FROM source_tumor_superseded "
                               "ORDER BY version").fetchall()
        unlinked = con.execute("SELECT count(*) FROM tumor WHERE tumor_id NOT IN "
                               "(SELECT source_tumor_id FROM tumor_link)").fetchall()[0][0]
    assert registry == [(1, "8560")]
    assert versions == [(1, 2), (2, 3)]
    assert unlinked == 1     # the middle version, superseded before it was ever linked


@pytest.mark.parametrize("changes", [{"nameFirst": "ANNE"}, {"rxSummSurgPrimSite": "41"}])
def test_any_item_of_the_patient_or_the_tumor_is_content(tmp_path: Path, changes: dict[str, str]) -> None:
    db = tmp_path / "registry.duckdb"
    _ingest(_write(tmp_path / "may.xml", [_patient("1000000001", "00000101", {}, **ANN)]), db)
    again = _ingest(_write(tmp_path / "june.xml", [_patient("1000000001", "00000101", {}, **{**ANN, **changes})],
                           hour=9), db)
    assert (again.tumors_loaded, again.tumors_unchanged) == (1, 0)
    assert _counts(db)["registry_tumor"] == 1


def test_the_record_view_shows_each_version_of_a_report(tmp_path: Path) -> None:
    from registry.principal import Principal
    from registry.record_view import patient_record

    db = tmp_path / "registry.duckdb"
    _ingest(_write(tmp_path / "may.xml", [_leo()]), db)
    _ingest(_write(tmp_path / "june.xml", [_leo(histologicTypeIcdO3="8550")], hour=9), db)
    with read_connection(db) as con:
        [(patient_id,)] = con.execute("SELECT patient_id FROM registry_patient").fetchall()
    record = patient_record(Principal("registrar1", "registrar"), db, open_operational_store(db), patient_id=patient_id)
    versions = [(r.version, r.batch_id, r.items["histologicTypeIcdO3"], r.superseded_by) for r in record.reports]
    newest = next(r.source_tumor_id for r in record.reports if r.batch_id == 2)
    assert versions == [(1, 1, "8140", newest), (2, 2, "8550", None)]
    assert [t.values["histology"] for t in record.tumors] == ["8550"]


def test_one_of_a_patients_two_tumors_changed(tmp_path: Path) -> None:
    db = tmp_path / "registry.duckdb"
    _ingest(_write(tmp_path / "may.xml", [_ann()]), db)
    before = _counts(db)
    again = _ingest(_write(tmp_path / "june.xml", [_ann(laterality="1")], hour=9), db)
    assert (again.tumors_loaded, again.tumors_unchanged, again.patients_loaded, again.patients_unchanged) == (1, 1, 1, 0)
    after = _counts(db)
    assert (after["source_tumor"], after["source_patient"], after["source_tumor_superseded"]) == (3, 2, 1)
    assert (after["registry_patient"], after["registry_tumor"]) == (before["registry_patient"], before["registry_tumor"])
    with read_connection(db) as con:
        lateralities = con.execute("SELECT primary_site, laterality FROM registry_tumor ORDER BY 1").fetchall()
        superseded_patients = con.execute("SELECT count(*) FROM source_patient_superseded").fetchall()[0][0]
    assert lateralities == [("C180", "0"), ("C504", "1")]
    assert superseded_patients == 0     # the earlier patient record still carries the colon tumor, unchanged


@pytest.mark.parametrize("columns", ["200", "60"])
def test_the_command_says_how_many_reports_were_re_sent_unchanged(tmp_path: Path, columns: str) -> None:
    from typer.testing import CliRunner

    from registry_cli.app import app

    db = tmp_path / "registry.duckdb"
    runner = CliRunner(env={"COLUMNS": columns})
    first = runner.invoke(app, ["ingest", str(_write(tmp_path / "may.xml", [_ann(), _leo()])), "--db", str(db)])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["ingest", str(_write(tmp_path / "may-again.xml", [_ann(), _leo()], hour=9)),
                                "--db", str(db)])
    assert again.exit_code == 0, again.output
    assert "re-sent unchanged" in " ".join(again.output.split())
    if columns == "60":
        assert "3 re-sent unchanged" in " ".join(again.output.split())


def test_a_flat_file_re_sent_with_other_line_endings_adds_nothing(tmp_path: Path) -> None:
    from pipelines.naaccr_flat_writer import NaaccrFlatWriter

    def flat(path: Path, ending: str) -> Path:
        with NaaccrFlatWriter(path, dictionary=base_dictionary("180"), record_type="A", line_ending=ending) as writer:
            for patient, tumors in (_ann(), _leo()):
                writer.write_patient(patient, tumors)
        return path

    db = tmp_path / "registry.duckdb"
    first = _ingest(flat(tmp_path / "may.txt", "\n"), db)
    again = _ingest(flat(tmp_path / "may-crlf.txt", "\r\n"), db)
    assert (first.format, first.tumors_loaded) == ("naaccr-flat", 3)
    assert (again.tumors_read, again.tumors_loaded, again.tumors_unchanged, again.patients_unchanged) == (3, 0, 3, 2)


def test_versions_loaded_in_parallel_are_chained_in_commit_order(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from registry_cli.app import app
    from tests.conftest import plain_main

    db = tmp_path / "registry.duckdb"
    _ingest(_write(tmp_path / "may.xml", [_leo()]), db)
    files = [str(_write(tmp_path / f"{name}.xml", [_leo(histologicTypeIcdO3=histology)], hour=hour))
             for name, histology, hour in (("june", "8550", 9), ("july", "8560", 10))]
    with plain_main():   # the workers are spawned: they must not run a dashboard page an earlier test ran
        result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["ingest", *files, "--jobs", "2", "--db", str(db)])
    assert result.exit_code == 0, result.output
    with read_connection(db) as con:
        chain = con.execute("SELECT tumor_id, superseded_by, version FROM source_tumor_superseded "
                            "ORDER BY version").fetchall()
        current = con.execute("SELECT tumor_id FROM tumor WHERE tumor_id NOT IN "
                              "(SELECT tumor_id FROM source_tumor_superseded)").fetchall()
    # Whichever file committed first is version 2, the other version 3: one current version, never two.
    assert [version for _, _, version in chain] == [1, 2]
    assert chain[0][1] == chain[1][0] and current == [(chain[1][1],)]


def test_a_version_committed_while_another_was_staged_is_superseded_by_it(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A key new to the store when both files were staged: the batch committed last still supersedes the
    other (the commit looks at batches committed since its file was staged)."""
    import threading

    from pipelines import load

    db = tmp_path / "registry.duckdb"
    staged, go = threading.Event(), threading.Event()
    commit = load._commit

    def held(*args: object, **kwargs: object) -> int:
        if threading.current_thread().name == "held":
            staged.set()
            go.wait(60)
        return commit(*args, **kwargs)   # type: ignore[arg-type]

    monkeypatch.setattr(load, "_commit", held)
    first, second = (_write(tmp_path / f"{name}.xml", [_leo(histologicTypeIcdO3=histology)], hour=hour)
                     for name, histology, hour in (("june", "8550", 9), ("july", "8560", 10)))
    results: list[BatchResult] = []
    worker = threading.Thread(name="held", target=lambda: results.append(
        ingest_file(first, db_path=db, user="tests", link=False)))
    worker.start()
    assert staged.wait(60)
    ahead = ingest_file(second, db_path=db, user="tests", link=False)   # staged after, committed first
    go.set()
    worker.join(60)
    assert (ahead.batch_id, results[0].batch_id) == (1, 2)
    with read_connection(db) as con:
        chain = con.execute("SELECT tumor_id >> 32, superseded_by >> 32, version FROM source_tumor_superseded").fetchall()
    assert chain == [(1, 2, 1)]


def test_a_corrected_version_resolves_the_work_item_of_the_report_it_supersedes(tmp_path: Path) -> None:
    from registry.principal import Principal
    from registry.worklist import list_items

    db = tmp_path / "registry.duckdb"
    ops = open_operational_store(db)
    registrar = Principal("registrar1", "registrar")
    _ingest(_write(tmp_path / "may.xml", [_patient("1000000001", "00000102", {}, **{**LEO, "sex": "2"})]), db)
    assert [item.status for item in list_items(registrar, ops)] == ["open"]      # prostate with sex 2
    _ingest(_write(tmp_path / "june.xml", [_leo()], hour=9), db)                  # the facility's corrected report
    assert [item.status for item in list_items(registrar, ops)] == ["resolved"]
