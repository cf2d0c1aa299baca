"""Each person once, each cancer once: linkage of hand-written reports into registry patients and tumors,
consolidation, reviewers' decisions, order independence."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.load import ingest_file
from pipelines.registry_link import link_registry
from registry.link_review import ReviewPair, decide, decisions, queue_pairs, review_queue
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.store import read_connection
from tests.registry_reports import report, write_reports

REGISTRAR = Principal("reviewer", "registrar")
MARGARET = {"nameLast": "WHITFIELD", "nameFirst": "MARGARET", "nameMiddle": "ANN", "dateOfBirth": "19590412",
            "socialSecurityNumber": "412556789"}
THOMAS = {"nameLast": "OKAFOR", "nameFirst": "THOMAS", "dateOfBirth": "19470102", "socialSecurityNumber": "523448812",
          "sex": "1"}


def _hospital_one() -> list[tuple[dict[str, str], dict[str, str]]]:
    return [
        report("1000000001", "00000101", **MARGARET, rxSummSurgPrimSite="41", rxDateSurgery="20190402"),
        report("1000000001", "00000102", **THOMAS, primarySite="C619", histologicTypeIcdO3="8140", laterality="0",
               dateOfDiagnosis="20160520", tumor_number="01"),
        report("1000000001", "00000102", **THOMAS, primarySite="C341", histologicTypeIcdO3="8070", laterality="1",
               dateOfDiagnosis="20210611", tumor_number="02", dateOfLastContact="20240105"),
    ]


def _hospital_two() -> list[tuple[dict[str, str], dict[str, str]]]:
    # The same breast cancer of the same woman, from a second hospital: her nickname, a site NOS, an NOS
    # histology, a later date, radiation; and an unrelated woman with the same last name.
    peggy = {**MARGARET, "nameFirst": "PEGGY"}
    return [
        report("2000000002", "00007001", **peggy, primarySite="C509", histologicTypeIcdO3="8140",
               dateOfDiagnosis="20190320", rxSummRadiation="1", rxDateRadiation="20190510",
               rxSummSurgPrimSite="41", rxDateSurgery="20190402", dateOfLastContact="20240601"),
        report("2000000002", "00007002", nameLast="WHITFIELD", nameFirst="JOAN", dateOfBirth="19810923",
               socialSecurityNumber="601224587", primarySite="C187", histologicTypeIcdO3="8140", laterality="0"),
    ]


@pytest.fixture()
def linked(tmp_path: Path) -> Path:
    db = tmp_path / "registry.duckdb"
    ingest_file(write_reports(tmp_path / "h1.xml", _hospital_one()), db_path=db, user="tests")
    ingest_file(write_reports(tmp_path / "h2.xml", _hospital_two()), db_path=db, user="tests")
    return db


def _partition(db: Path) -> set[frozenset[str]]:
    """Registry patients as sets of the natural keys of their reports (independent of ids and load order)."""
    with read_connection(db) as con:
        rows = con.execute("""
            SELECT l.registry_patient_id, t.reporting_facility || '/' || p.patient_id_number || '/' || t.tumor_record_number,
                   tl.registry_tumor_id
            FROM patient_link l JOIN patient p ON p.patient_id = l.source_patient_id
            JOIN tumor t ON t.patient_id = p.patient_id JOIN tumor_link tl ON tl.source_tumor_id = t.tumor_id""").fetchall()
    people: dict[int, set[str]] = {}
    for person, key, _ in rows:
        people.setdefault(person, set()).add(key)
    return {frozenset(keys) for keys in people.values()}


def test_reports_of_one_person_and_one_tumor_become_one_registry_patient_and_tumor(linked: Path) -> None:
    with read_connection(linked) as con:
        assert con.execute("SELECT count(*) FROM patient").fetchall()[0][0] == 5
        assert con.execute("SELECT count(*) FROM registry_patient").fetchall()[0][0] == 3
        assert con.execute("SELECT count(*) FROM registry_tumor").fetchall()[0][0] == 4
        breast = con.execute("""SELECT t.tumor_id, t.reports, t.primary_site, t.histology, t.date_of_diagnosis::VARCHAR,
                                       p.reports, p.date_of_last_contact::VARCHAR
                                FROM registry_tumor t JOIN registry_patient p USING (patient_id)
                                WHERE t.site_recode = '39'""").fetchall()
        assert len(breast) == 1
        tumor_id, reports, site, histology, diagnosed, patient_reports, last_contact = breast[0]
        # Specific site over NOS, specific histology over adenocarcinoma NOS, earliest date, latest contact.
        assert (reports, site, histology, diagnosed) == (2, "C504", "8500", "2019-03-15")
        assert (patient_reports, last_contact) == (2, "2024-06-01")
        treatment = con.execute("SELECT modality, given FROM registry_treatment WHERE tumor_id = ? ORDER BY modality",
                                [tumor_id]).fetchall()
        assert [m for m, given in treatment if given] == ["radiation", "surgery"]   # surgery reported twice, once
        sources = dict(con.execute("SELECT item, rule FROM consolidated_value WHERE level = 2 AND entity_id = ?",
                                   [tumor_id]).fetchall())
        assert sources["primary_site"].startswith("specific site")
        link = con.execute("""SELECT method, match_weight, cardinality(comparison_weights) FROM patient_link
                              WHERE method = 'probabilistic'""").fetchall()
        assert len(link) == 1 and link[0][1] is not None and link[0][2] > 0


def test_central_sequence_numbers_follow_diagnosis_order_per_registry_patient(linked: Path) -> None:
    with read_connection(linked) as con:
        rows = con.execute("""SELECT primary_site, sequence_number_central FROM registry_tumor
                              WHERE patient_id = (SELECT patient_id FROM registry_tumor WHERE primary_site = 'C619')
                              ORDER BY date_of_diagnosis""").fetchall()
    assert rows == [("C619", "01"), ("C341", "02")]


def test_same_partition_whatever_the_order_files_arrive_in(tmp_path: Path, linked: Path) -> None:
    other = tmp_path / "other" / "registry.duckdb"
    ingest_file(write_reports(tmp_path / "b.xml", _hospital_two()), db_path=other, user="tests")
    ingest_file(write_reports(tmp_path / "a.xml", _hospital_one()), db_path=other, user="tests")
    assert _partition(other) == _partition(linked)


def test_a_report_without_identifying_items_never_merges_automatically(tmp_path: Path) -> None:
    db = tmp_path / "registry.duckdb"
    anonymous = report("1000000001", "", **{"sex": "2"})
    anonymous[0].pop("patientIdNumber")
    ingest_file(write_reports(tmp_path / "a.xml", [*_hospital_one(), anonymous]), db_path=db, user="tests")
    with read_connection(db) as con:
        alone = con.execute("""SELECT count(*) FROM patient_link l JOIN patient p ON p.patient_id = l.source_patient_id
                               WHERE p.patient_id_number IS NULL AND l.method IN ('deterministic', 'probabilistic')""")
        assert alone.fetchall()[0][0] == 0


def test_a_reviewers_decision_is_honoured_by_relinks_and_reingests(tmp_path: Path, linked: Path) -> None:
    ops = open_operational_store(linked)
    # The two breast reports were linked; a reviewer says they are different persons.
    queue_pairs(ops, [ReviewPair("patient", "1000000001/00000101", "2000000002/00007001", 5.0)])
    item = review_queue(ops, REGISTRAR)[0]
    decide(ops, REGISTRAR, item.review_id, "different", "different mothers' maiden names on the phone")
    link_registry(linked, user="tests", force=True)
    apart = _partition(linked)
    assert frozenset({"1000000001/00000101/01"}) in apart and frozenset({"2000000002/00007001/01"}) in apart
    link_registry(linked, user="tests", retrain=True)
    assert _partition(linked) == apart
    # Re-ingest the same reports into a new store that keeps the operational store (its decisions).
    again = tmp_path / "again" / "registry.duckdb"
    again.parent.mkdir()
    for path in ops.path.parent.iterdir():   # the operational store with its audit key and head
        if path.is_file() and not path.name.startswith(linked.name):
            shutil.copy(path, again.parent / path.name)
    ingest_file(write_reports(tmp_path / "h1b.xml", _hospital_one()), db_path=again, user="tests")
    ingest_file(write_reports(tmp_path / "h2b.xml", _hospital_two()), db_path=again, user="tests")
    assert _partition(again) == apart
    assert [d.decision for d in decisions(open_operational_store(again))] == ["different"]


def _report_partition(db: Path) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    """Registry patients and registry tumors as sets of their reports' natural keys."""
    with read_connection(db) as con:
        rows = con.execute("""
            SELECT pl.registry_patient_id, tl.registry_tumor_id, b.sha256 || '#' || t.tumor_seq
            FROM tumor t JOIN ingest_batch b ON b.batch_id = t.batch_id
            JOIN tumor_link tl ON tl.source_tumor_id = t.tumor_id
            JOIN patient_link pl ON pl.source_patient_id = t.patient_id""").fetchall()
    people: dict[int, set[str]] = {}
    tumors: dict[int, set[str]] = {}
    for person, tumor, key in rows:
        people.setdefault(person, set()).add(key)
        tumors.setdefault(tumor, set()).add(key)
    return {frozenset(v) for v in people.values()}, {frozenset(v) for v in tumors.values()}


def test_a_sample_registry_loaded_in_two_orders_gives_one_partition(tmp_path: Path) -> None:
    from sample_data.config import SampleConfig
    from sample_data.generator import generate, write

    write(generate(SampleConfig(tumors=2_500, seed=11, first_year=2022, last_year=2023)), tmp_path / "sample")
    files = sorted(p for p in (tmp_path / "sample" / "naaccr").rglob("*") if p.is_file())
    partitions = []
    for name, order in (("forward", files), ("backward", files[::-1])):
        db = tmp_path / name / "registry.duckdb"
        for path in order:
            ingest_file(path, db_path=db, user="tests", link=False)
        summary = link_registry(db, user="tests")
        assert summary.trained and summary.registry_patients < summary.patient_reports
        partitions.append(_report_partition(db))
    assert partitions[0] == partitions[1]


def test_a_reviewers_tumor_decision_is_honoured_by_relinks(linked: Path) -> None:
    ops = open_operational_store(linked)
    prostate, lung = "1000000001/00000102/01", "1000000001/00000102/02"
    queue_pairs(ops, [ReviewPair("tumor", prostate, lung, None, {"reason": "pathology says metastasis"})])
    item = next(i for i in review_queue(ops, REGISTRAR, kind="tumor") if {i.left_key, i.right_key} == {prostate, lung})
    decide(ops, REGISTRAR, item.review_id, "same", "the lung lesion is a metastasis of the prostate primary")

    def tumors_of_thomas() -> list[tuple[int, str]]:
        with read_connection(linked) as con:
            return con.execute("""SELECT reports, primary_site FROM registry_tumor WHERE patient_id =
                                      (SELECT registry_patient_id FROM patient_link l JOIN patient p
                                       ON p.patient_id = l.source_patient_id WHERE p.patient_id_number = '00000102'
                                       LIMIT 1)""").fetchall()

    link_registry(linked, user="tests", force=True)
    assert tumors_of_thomas() == [(2, "C619")]
    with read_connection(linked) as con:
        assert con.execute("SELECT count(*) FROM tumor_link WHERE method = 'reviewer'").fetchall()[0][0] == 1
    link_registry(linked, user="tests", retrain=True)
    assert tumors_of_thomas() == [(2, "C619")]
