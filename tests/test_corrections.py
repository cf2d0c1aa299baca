"""Registry-level corrections: a registrar's value replaces the consolidated one with its derived columns,
is audited, survives relinks and re-ingests, moves the statistics, and bad requests are explained."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.load import ingest_file
from pipelines.registry_link import link_registry
from registry.analysis import case_counts
from registry.audit import events
from registry.cohort import TumorFilter
from registry.corrections import correct, corrections_of
from registry.errors import AccessDenied, InvalidRequest
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.store import read_connection
from tests.registry_reports import THOMAS, report, two_hospitals_store, write_reports

REGISTRAR = Principal("registrar1", "registrar")


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_hospitals_store(tmp_path_factory.mktemp("corrections"))


@pytest.fixture
def db(linked: Path, tmp_path: Path) -> Path:
    """A copy of the two hospitals' store (corrections change it)."""
    shutil.copytree(linked.parent, tmp_path / "store")
    return tmp_path / "store" / linked.name


def thomas_tumor(db: Path) -> tuple[int, int]:
    """(registry tumor, registry patient) of Thomas's prostate cancer, reported by both hospitals."""
    with read_connection(db) as con:
        row = con.execute("""SELECT DISTINCT t.tumor_id, t.patient_id FROM registry_tumor t
                             JOIN tumor_link l ON l.registry_tumor_id = t.tumor_id
                             JOIN tumor s ON s.tumor_id = l.source_tumor_id
                             JOIN patient p ON p.patient_id = s.patient_id
                             WHERE p.patient_id_number = '00000102'""").fetchall()
    assert len(row) == 1
    return int(row[0][0]), int(row[0][1])


def tumor_row(db: Path, tumor_id: int) -> dict[str, object]:
    with read_connection(db) as con:
        cursor = con.execute("SELECT * FROM registry_tumor WHERE tumor_id = ?", [tumor_id])
        return dict(zip([d[0] for d in cursor.description], cursor.fetchall()[0], strict=True))


def provenance(db: Path, level: int, entity_id: int, item: str) -> tuple[object, str]:
    with read_connection(db) as con:
        source_id, rule = con.execute("SELECT source_id, rule FROM consolidated_value WHERE level = ? AND "
                                      "entity_id = ? AND item = ?", [level, entity_id, item]).fetchall()[0]
    return source_id, str(rule)


def test_a_correction_sets_the_value_its_derived_columns_and_provenance(db: Path) -> None:
    ops = open_operational_store(db)
    tumor_id, _ = thomas_tumor(db)
    before = tumor_row(db, tumor_id)
    assert (before["primary_site"], before["histology"], before["site_recode"]) == ("C619", "8140", "49")
    done = correct(REGISTRAR, db, ops, tumor_id=tumor_id, item="primarySite", new_value="c341",
                   reason="pathology report: lung primary")
    assert (done.item, done.old_value, done.new_value, done.level, done.entity_id) == (
        "primarySite", "C619", "C341", 2, tumor_id)
    after = tumor_row(db, tumor_id)
    assert after["primary_site"] == "C341" and after["site_recode"] == "30"   # lung and bronchus
    assert provenance(db, 2, tumor_id, "primary_site") == (None, "correction")
    assert provenance(db, 2, tumor_id, "histology")[1] != "correction"
    [audited] = events(ops, action="correction")
    assert audited.user == "registrar1" and audited.detail["old_value"] == "C619"
    assert audited.detail["new_value"] == "C341" and audited.detail["reason"] == "pathology report: lung primary"
    with read_connection(db) as con:   # the reports as received never change
        assert {r[0] for r in con.execute("SELECT value FROM source_item WHERE naaccr_id = 'primarySite'"
                                          ).fetchall()} == {"C504", "C509", "C619"}


def test_dates_recompute_year_age_and_sequence(db: Path) -> None:
    ops = open_operational_store(db)
    tumor_id, patient_id = thomas_tumor(db)
    assert tumor_row(db, tumor_id)["age_at_diagnosis"] == 69
    correct(REGISTRAR, db, ops, tumor_id=tumor_id, item="dateOfDiagnosis", new_value="20150105",
            reason="earlier biopsy found")
    row = tumor_row(db, tumor_id)
    assert str(row["date_of_diagnosis"]) == "2015-01-05" and row["date_of_diagnosis_precision"] == "D"
    assert row["diagnosis_year"] == 2015 and row["age_at_diagnosis"] == 68
    correct(REGISTRAR, db, ops, patient_id=patient_id, item="dateOfBirth", new_value="1950",
            reason="birth certificate")
    assert tumor_row(db, tumor_id)["age_at_diagnosis"] == 65
    correct(REGISTRAR, db, ops, tumor_id=tumor_id, item="ageAtDiagnosis", new_value="066", reason="as coded")
    assert tumor_row(db, tumor_id)["age_at_diagnosis"] == 66
    correct(REGISTRAR, db, ops, tumor_id=tumor_id, item="behaviorCodeIcdO3", new_value="1", reason="borderline")
    assert tumor_row(db, tumor_id)["sequence_number_central"] == "60"   # his only non-malignant tumor


def test_residence_correction_rebuilds_the_county_fips(db: Path) -> None:
    tumor_id, _ = thomas_tumor(db)
    assert tumor_row(db, tumor_id)["county_fips"] == "20173"
    correct(REGISTRAR, db, open_operational_store(db), tumor_id=tumor_id, item="countyAtDx", new_value="091",
            reason="address verified")
    assert tumor_row(db, tumor_id)["county_fips"] == "20091"
    assert provenance(db, 2, tumor_id, "county_fips") == (None, "correction")


def test_a_correction_survives_relinks_and_reingests(db: Path, tmp_path: Path) -> None:
    ops = open_operational_store(db)
    tumor_id, patient_id = thomas_tumor(db)
    correct(REGISTRAR, db, ops, tumor_id=tumor_id, item="histologicTypeIcdO3", new_value="8550",
            reason="review of slides")
    correct(REGISTRAR, db, ops, patient_id=patient_id, item="race1", new_value="02", reason="self-reported")
    link_registry(db, user="tests", force=True)
    third = report("3000000003", "00000900", **{**THOMAS, "dateOfDiagnosis": "20160601"})
    assert ingest_file(write_reports(tmp_path / "h3.xml", [third]), db_path=db, user="tests").status == "loaded"
    assert thomas_tumor(db) == (tumor_id, patient_id)
    row = tumor_row(db, tumor_id)
    assert row["histology"] == "8550" and row["reports"] == 3
    assert provenance(db, 2, tumor_id, "histology") == (None, "correction")
    with read_connection(db) as con:
        assert con.execute("SELECT race1 FROM registry_patient WHERE patient_id = ?", [patient_id]
                           ).fetchall()[0][0] == "02"


def test_statistics_count_the_corrected_value(db: Path) -> None:
    tumor_id, _ = thomas_tumor(db)

    def by_site() -> dict[str, int]:
        table = case_counts(REGISTRAR, db, TumorFilter(), by=("site_recode",)).table
        return table.groupby("site_recode")["count"].sum().to_dict()

    before = by_site()
    correct(REGISTRAR, db, open_operational_store(db), tumor_id=tumor_id, item="primarySite", new_value="C341",
            reason="lung primary")
    after = by_site()
    assert after.get("49", 0) == before.get("49", 0) - 1
    assert after.get("30", 0) == before.get("30", 0) + 1


def test_override_flags_are_kept_and_history_is_newest_first(db: Path) -> None:
    ops = open_operational_store(db)
    tumor_id, _ = thomas_tumor(db)
    row = tumor_row(db, tumor_id)
    first = correct(REGISTRAR, db, ops, tumor_id=tumor_id, item="overRideSiteType", new_value="1",
                    reason="site/type combination confirmed", work_item_id=7)
    second = correct(REGISTRAR, db, ops, tumor_id=tumor_id, item="overRideSiteType", new_value="",
                     reason="flag set by mistake")
    assert (first.old_value, first.new_value, second.old_value, second.new_value) == (None, "1", "1", None)
    assert tumor_row(db, tumor_id) == row
    history = corrections_of(REGISTRAR, db, tumor_id=tumor_id)
    assert [c.correction_id for c in history] == [second.correction_id, first.correction_id]
    assert history[1].work_item_id == 7 and history[1].corrected_by == "registrar1"


@pytest.mark.parametrize(("item", "value", "reason", "message"), [
    ("primarySite", "C99", "x", "primarySite = 'C99'"),
    ("primarySite", "C999", "x", "C000-C809"),
    ("histologicTypeIcdO3", "85O0", "x", "give exactly 4 digits"),
    ("behaviorCodeIcdO3", "5", "x", "0, 1, 2 or 3"),
    ("dateOfDiagnosis", "20190231", "x", "not a date"),
    ("nameLast", "SMITH", "x", "'nameLast' cannot be corrected"),
    ("dateOfBirth", "19500101", "x", "patient item: correct it with patient_id"),
    ("histologicTypeIcdO3", "8550", "  ", "needs a reason"),
    ("overRideSiteType", "2", "x", "override flag is 1"),
])
def test_bad_requests_are_explained(db: Path, item: str, value: str, reason: str, message: str) -> None:
    tumor_id, _ = thomas_tumor(db)
    with pytest.raises(InvalidRequest, match=message):
        correct(REGISTRAR, db, open_operational_store(db), tumor_id=tumor_id, item=item, new_value=value,
                reason=reason)
    with read_connection(db) as con:
        assert con.execute("SELECT count(*) FROM registry_correction").fetchall()[0][0] == 0


def test_one_entity_is_named_and_it_must_exist(db: Path) -> None:
    ops = open_operational_store(db)
    with pytest.raises(InvalidRequest, match="exactly one"):
        correct(REGISTRAR, db, ops, tumor_id=1, patient_id=1, item="race1", new_value="01", reason="x")
    with pytest.raises(InvalidRequest, match="no registry tumor 999999"):
        correct(REGISTRAR, db, ops, tumor_id=999999, item="grade", new_value="2", reason="x")
    assert not events(ops, action="correction")


@pytest.mark.parametrize("role", ["researcher", "administrator"])
def test_only_registrars_correct_and_a_refusal_is_audited(db: Path, role: str) -> None:
    ops = open_operational_store(db)
    tumor_id, _ = thomas_tumor(db)
    other = Principal(f"{role}1", role)
    with pytest.raises(AccessDenied):
        correct(other, db, ops, tumor_id=tumor_id, item="grade", new_value="2", reason="x")
    with pytest.raises(AccessDenied):
        corrections_of(other, db, tumor_id=tumor_id)
    [refused] = events(ops, action="access-refused")
    assert refused.user == f"{role}1" and refused.detail["action"] == "correction"
    assert tumor_row(db, tumor_id)["grade"] == "9"           # as consolidated: unchanged
