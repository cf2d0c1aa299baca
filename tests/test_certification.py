"""Data-quality certification: every figure against an independent recount on a small store, the records behind
each figure, who gets what (administrators suppressed, researchers refused, the records for registrars only and
audited), and on the generated sample registry the figures against its truth folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry import certification
from registry.audit import events
from registry.errors import AccessDenied, InvalidRequest
from registry.operational_store import open_operational_store
from registry.principal import Principal
from tests.certification_store import YEARS, certification_store, recount
from tests.release_checks import assert_no_small_count

REGISTRAR = Principal("quality-registrar", "registrar", frozenset())
ADMINISTRATOR = Principal("quality-administrator", "administrator", frozenset())
RESEARCHER = Principal("quality-researcher", "researcher", frozenset())


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return certification_store(tmp_path_factory.mktemp("certification"))


def figures(db: Path, principal: Principal = REGISTRAR) -> pd.DataFrame:
    return certification.certification(principal, db).table.set_index(["diagnosis_year", "criterion"])


def test_every_figure_equals_the_recount(db: Path) -> None:
    got = figures(db)
    want = recount(db).set_index(["diagnosis_year", "criterion"])
    assert set(got.index) == set(want.index) == {(y, c) for y in YEARS for c in certification.CRITERIA}
    for column in ("count", "denominator", "value"):
        assert np.allclose(got.loc[want.index, column].astype(float), want[column], equal_nan=True), column


def test_the_small_store_counts_what_it_was_built_to(db: Path) -> None:
    """2019 certifies 12 tumors: not the in situ breast nor the Missouri resident; the in situ bladder does."""
    year = figures(db).loc[2019]
    assert year.loc["dco", "denominator"] == 12
    for criterion in ("dco", "missing_age", "missing_sex", "missing_county", "missing_race", "unknown_site"):
        assert year.loc[criterion, "count"] == 1, criterion
    assert year.loc["passing_edits", "count"] == 11          # the prostate in a woman fails sex/site
    assert year.loc["microscopically_verified", "count"] == 10
    assert year.loc["duplicates", "count"] == 2               # Margaret's patient and tumor questions
    assert year.loc["duplicates", "value"] == pytest.approx(1000 * 2 / 12)
    # 9 tumors of the reference sites: one received after 23 months, two (Margaret's) without a received date,
    # one more after 12 months
    assert [year.loc[c, "count"] for c in ("completeness", "completeness_23_months", "completeness_12_months")] == \
        [9, 6, 5]
    assert year.loc["completeness_23_months", "deadline"] == "2021-11-30"
    assert np.isnan(figures(db).loc[(2020, "completeness_12_months"), "value"])   # no report of 2020 is dated


def test_pass_and_fail_per_standard(db: Path) -> None:
    table = figures(db)
    dco = table.loc[(2019, "dco")]                            # 8.3%: fails every standard that has a DCO limit
    assert dco["naaccr_gold"] == "< 3" and dco["npcr_national"] == "≤ 3" and dco["npcr_advanced"] == ""
    assert dco["naaccr_gold_pass"] is False and dco["naaccr_silver_pass"] is False and dco["npcr_advanced_pass"] is None
    dco_2020 = table.loc[(2020, "dco")]
    assert dco_2020["value"] == 0 and dco_2020["naaccr_gold_pass"] is True
    assert table.loc[(2019, "microscopically_verified"), "naaccr_gold_pass"] is None   # IARC: no threshold
    assert table.loc[(2019, "passing_edits"), "naaccr_gold"] == "≥ 100"


def test_thresholds_are_the_published_ones() -> None:
    limits = certification.standards().set_index(["criterion", "standard"])
    assert limits.loc[("completeness", "naaccr_gold"), "threshold"] == 95
    assert limits.loc[("completeness", "naaccr_silver"), "threshold"] == 90
    assert tuple(limits.loc[("dco", "naaccr_silver")]) == ("<", 5)
    assert tuple(limits.loc[("dco", "npcr_national")]) == ("<=", 3)
    assert limits.loc[("duplicates", "naaccr_silver"), "threshold"] == 2
    assert limits.loc[("missing_race", "npcr_advanced"), "threshold"] == 5
    assert limits.loc[("passing_edits", "npcr_national"), "threshold"] == 99
    assert ("dco", "npcr_advanced") not in limits.index


def test_completeness_by_site_adds_up_to_the_figure(db: Path) -> None:
    sites = certification.completeness_by_site(REGISTRAR, db, 2019).table
    year = figures(db).loc[(2019, "completeness")]
    assert sites["count"].sum() == year["count"]
    assert sites["expected"].sum() == pytest.approx(year["denominator"])
    breast = sites.set_index("site_key").loc["breast"]
    assert breast["count"] == 3       # women's invasive breast cancers of 2019 (one person, one Margaret, one Margret)
    assert breast["completeness"] == pytest.approx(100 * 3 / breast["expected"])
    with pytest.raises(Exception, match="no population is loaded for 2031"):
        certification.completeness_by_site(REGISTRAR, db, 2031)


def test_the_trend_holds_every_year(db: Path) -> None:
    trend = certification.certification_trend(REGISTRAR, db).table
    assert sorted(trend["diagnosis_year"].unique()) == list(YEARS)


@pytest.mark.parametrize(("criterion", "expected"), [
    ("dco", {"detail": "type of reporting source 7"}),
    ("missing_county", {"detail": "county 999"}),
    ("missing_race", {"detail": "race 1 99"}),
    ("missing_sex", {"detail": "sex 9"}),
    ("unknown_site", {"primary_site": "C809"}),
])
def test_the_records_behind_a_figure(db: Path, criterion: str, expected: dict[str, str]) -> None:
    rows = certification.quality_records(REGISTRAR, db, 2019, criterion).table
    assert len(rows) == figures(db).loc[(2019, criterion), "count"] == 1
    for column, value in expected.items():
        assert rows.iloc[0][column] == value
    assert {"registry_tumor_id", "registry_patient_id"} <= set(rows.columns)


def test_late_reports_behind_the_timeliness_figures(db: Path) -> None:
    late = certification.quality_records(REGISTRAR, db, 2019, "completeness_23_months").table
    assert sorted(late["detail"]) == ["no received date", "no received date", "received 2022-01-15 after 2021-11-30"]
    later = certification.quality_records(REGISTRAR, db, 2019, "completeness_12_months").table
    assert "received 2021-03-01 after 2020-12-31" in set(later["detail"]) and len(later) == 4


def test_a_deadline_not_yet_passed_gets_no_verdict(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Early(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Early:   # type: ignore[override]
            return cls(2021, 6, 1, tzinfo=UTC)

    monkeypatch.setattr(certification, "datetime", Early)
    row = figures(db).loc[(2019, "completeness_23_months")]
    assert not np.isnan(row["value"]) and row["naaccr_gold_pass"] is None
    assert figures(db).loc[(2019, "completeness_12_months"), "naaccr_gold_pass"] is None   # no Gold threshold
    assert figures(db).loc[(2019, "completeness_12_months"), "npcr_advanced_pass"] is False


def test_failing_tumors_come_with_their_edit_and_work_item(db: Path) -> None:
    rows = certification.quality_records(REGISTRAR, db, 2019, "passing_edits").table
    assert len(rows) == 1 and rows.iloc[0]["detail"].startswith("sex-site:")
    assert pd.notna(rows.iloc[0]["work_item_id"])


def test_duplicates_list_the_pending_questions(db: Path) -> None:
    rows = certification.quality_records(REGISTRAR, db, 2019, "duplicates").table
    assert sorted(rows["kind"].unique()) == ["patient", "tumor"]
    assert rows["review_id"].nunique() == 2


def test_records_views_are_audited_and_completeness_has_none(db: Path) -> None:
    ops = open_operational_store(db)
    certification.quality_records(REGISTRAR, db, 2019, "dco")
    event = events(ops, user=REGISTRAR.user, action="record-view")[0]
    assert event.detail["purpose"] == "data-quality" and event.detail["criterion"] == "dco"
    assert event.detail["diagnosis_year"] == 2019 and len(event.detail["tumors"]) == 1
    with pytest.raises(InvalidRequest, match="completeness"):
        certification.quality_records(REGISTRAR, db, 2019, "completeness")
    with pytest.raises(InvalidRequest, match="unknown 'nothing'"):
        certification.quality_records(REGISTRAR, db, 2019, "nothing")


@pytest.mark.parametrize("principal", [ADMINISTRATOR, RESEARCHER])
def test_only_registrars_get_the_records_and_a_refusal_is_audited(db: Path, principal: Principal) -> None:
    with pytest.raises(AccessDenied):
        certification.quality_records(principal, db, 2019, "dco")
    refused = events(open_operational_store(db), user=principal.user, action="access-refused")
    assert refused and refused[0].detail["action"] == "data-quality-records"


def test_researchers_are_refused_the_figures(db: Path) -> None:
    for call in (lambda: certification.certification(RESEARCHER, db),
                 lambda: certification.completeness_by_site(RESEARCHER, db, 2019),
                 lambda: certification.certification_trend(RESEARCHER, db)):
        with pytest.raises(AccessDenied):
            call()


def test_administrators_get_no_count_of_1_to_15(db: Path) -> None:
    released = certification.certification(ADMINISTRATOR, db)
    assert_no_small_count(released, "certification")
    table = released.table.set_index(["diagnosis_year", "criterion"])
    dco = table.loc[(2019, "dco")]
    assert dco["suppressed"] and np.isnan(dco["value"]) and dco["naaccr_gold_pass"] is None
    zero = table.loc[(2020, "missing_race")]                  # 0 of 1 tumor: the year's 1 is a small count
    assert zero["suppressed"]
    sites = certification.completeness_by_site(ADMINISTRATOR, db, 2019)
    assert_no_small_count(sites, "completeness by site")
    assert sites.table.set_index("site_key").loc["breast", "suppressed"]


# ---- the generated sample registry against its truth folder ----------------------------------------------

@pytest.fixture(scope="module")
def sample(sample_registry: dict[str, object]) -> tuple[Path, Path]:
    return Path(str(sample_registry["db"])), Path(str(sample_registry["out"])) / "truth"


def _truth(truth: Path) -> pd.DataFrame:
    """One row per true tumor the certification counts (not the extra in situ breast): year, dco, and whether
    every report of the tumor (county) or of the person (sex, race) lost the item or the person's race is
    unknown."""
    tumors = pd.read_csv(truth / "tumors.csv", dtype=str)
    reports = pd.read_csv(truth / "reports.csv", dtype=str)
    defects = pd.read_csv(truth / "defects.csv", dtype=str)
    persons = pd.read_csv(truth / "persons.csv", dtype=str)
    missing = defects[defects["defect"] == "missing-item"]
    for item in ("countyAtDx", "sex", "race1"):
        lost = set(missing[missing["item"] == item]["report_id"])
        hit = reports["report_id"].isin(lost)
        # a patient-level item is lost on every report of the facility's patient record
        reports[item] = reports["patientIdNumber"].isin(reports[hit]["patientIdNumber"]) if item != "countyAtDx" \
            else hit
    per_tumor = reports.groupby(["person_id", "tumor_index"], as_index=False).agg(county=("countyAtDx", "all"))
    per_person = reports.groupby("person_id", as_index=False).agg(no_sex=("sex", "all"), no_race=("race1", "all"))
    out = tumors[tumors["in_situ_extra"] == "False"].merge(per_tumor, on=["person_id", "tumor_index"]).merge(
        per_person, on="person_id").merge(persons[["person_id", "race1"]], on="person_id")
    out["year"] = out["diagnosis_date"].str[:4].astype(int)
    out["dco"] = out["dco"] == "True"
    out["no_race"] = out["no_race"] | (out["race1"] == "99")
    return out


def test_sample_figures_match_the_truth_folder(sample: tuple[Path, Path]) -> None:
    db, truth = sample
    table = figures(db)
    counted = _truth(truth).groupby("year").agg(tumors=("dco", "size"), dco=("dco", "sum"),
                                                county=("county", "sum"), sex=("no_sex", "sum"),
                                                race=("no_race", "sum"))
    for year, row in counted.iterrows():
        mine = table.loc[year]
        assert abs(mine.loc["dco", "denominator"] - row["tumors"]) <= 0.005 * row["tumors"], year
        assert mine.loc["dco", "value"] == pytest.approx(100 * row["dco"] / row["tumors"], abs=0.2), year
        for criterion, column in (("missing_county", "county"), ("missing_sex", "sex"), ("missing_race", "race")):
            assert mine.loc[criterion, "value"] == pytest.approx(100 * row[column] / row["tumors"], abs=0.2), \
                (year, criterion)
        assert mine.loc["missing_age", "count"] == 0          # the sample never blanks the age at diagnosis


def test_sample_completeness_and_duplicates_against_the_truth(sample: tuple[Path, Path]) -> None:
    """Completeness (and at 23 and 12 months, by the truth's received dates): the truth's own tumors of the
    reference sites over the same expected cases, within 2 points (the registry loses the few tumors whose site or histology a defect made invalid). Duplicates: the
    pending questions per 1,000 against the registry tumors that really are a second copy of a true tumor,
    within 2.5 per 1,000 a year and 1 per 1,000 over all years (a pending question is a possible duplicate:
    about a third of them are)."""
    db, truth = sample
    table = figures(db)
    tumors = _truth(truth)
    sexes = certification.reference_rates().groupby("site_key")["sex"].agg(set)
    covered = tumors[[sex in sexes.get(site, set()) for site, sex in zip(tumors["site_key"], tumors["sex"],
                                                                          strict=True)]]
    for year, count in covered.groupby("year").size().items():
        expected = table.loc[(year, "completeness"), "denominator"]
        assert table.loc[(year, "completeness"), "value"] == pytest.approx(100 * count / expected, abs=2), year
    received = _received(truth)
    for months, criterion in ((23, "completeness_23_months"), (12, "completeness_12_months")):
        for year, part in covered.groupby("year"):
            deadline = pd.Timestamp(year + 2, 11, 30) if months == 23 else pd.Timestamp(year + 1, 12, 31)
            arrived = (part.merge(received, on=["person_id", "tumor_index"])["received"] <= deadline).sum()
            expected = table.loc[(year, criterion), "denominator"]
            assert table.loc[(year, criterion), "value"] == pytest.approx(100 * arrived / expected, abs=2), \
                (year, criterion)
    duplicates = table.xs("duplicates", level="criterion")
    copies = _registry_copies(db, truth)
    for year, row in duplicates.iterrows():
        assert abs(row["value"] - 1000 * copies.get(year, 0) / row["denominator"]) <= 2.5, year
    overall = 1000 * (duplicates["count"].sum() - copies.sum()) / duplicates["denominator"].sum()
    assert abs(overall) <= 1


def _received(truth: Path) -> pd.DataFrame:
    """The earliest received date of each true tumor's reports."""
    reports = pd.read_csv(truth / "reports.csv", dtype=str)
    reports["received"] = pd.to_datetime(reports["date_case_report_received"])
    return reports.groupby(["person_id", "tumor_index"], as_index=False)["received"].min()


def _registry_copies(db: Path, truth: Path) -> pd.Series:
    """Per diagnosis year, registry tumors beyond the first of each true tumor (duplicates left in the registry)."""
    from registry.store import read_connection

    with read_connection(db) as con:
        links = con.execute("""SELECT l.registry_tumor_id, r.diagnosis_year, t.reporting_facility AS facility,
                                      p.patient_id_number, t.tumor_record_number
                               FROM tumor_link l JOIN tumor t ON t.tumor_id = l.source_tumor_id
                               JOIN patient p ON p.patient_id = t.patient_id
                               JOIN registry_tumor r ON r.tumor_id = l.registry_tumor_id""").df()
    reports = pd.read_csv(truth / "reports.csv", dtype=str)
    joined = links.merge(reports, left_on=["facility", "patient_id_number", "tumor_record_number"],
                         right_on=["reportingFacility", "patientIdNumber", "tumorRecordNumber"])
    per_true = joined.groupby(["person_id", "tumor_index"]).agg(year=("diagnosis_year", "min"),
                                                               copies=("registry_tumor_id", "nunique"))
    return (per_true["copies"] - 1).groupby(per_true["year"]).sum()


def test_the_command_prints_the_scorecard_as_an_administrator_sees_it(db: Path) -> None:
    from typer.testing import CliRunner

    from registry_cli.app import app

    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["quality", "certify", "--db", str(db), "--year", "2019"])
    assert result.exit_code == 0, result.output
    assert "Data-quality certification 2019" in result.output and "2018" not in result.output
    assert "Death certificate only" in result.output and "suppressed" in result.output   # 1 of 12 tumors
    missing = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["quality", "certify", "--db",
                                                              str(db.with_name("nothing.duckdb"))])
    assert missing.exit_code == 2 and "no registry store here yet" in missing.output


def test_reference_sites_name_known_sites_and_recode_groups() -> None:
    from registry.site_recode import rules

    sites = certification.reference_sites()
    rates = certification.reference_rates()
    assert set(sites["site_key"]) == set(rates["site_key"]) and len(set(rates["site_key"])) == 20
    assert set(sites["site_recode"]) <= set(rules()["code"])
    assert set(sites[sites["site_key"] == "breast"]["sex"]) == {"2"}    # the reference has female breast only
    assert rates.groupby(["site_key", "sex"]).size().eq(19).all()
    # no tumor belongs to two sites: a whole recode group belongs to one site, and the histology ranges of one
    # recode group never overlap across sites (unless one takes the primary sites the other leaves out)
    whole = sites[sites["histology_low"].isna()]
    assert sites[sites["site_recode"].isin(whole["site_recode"])].groupby("site_recode")["site_key"].nunique().eq(1).all()
    for recode, part in sites.dropna(subset=["histology_low"]).groupby("site_recode"):
        spans = sorted({(int(lo), int(hi), key, tuple(inc or ()), tuple(exc)) for lo, hi, key, inc, exc in zip(
            part["histology_low"], part["histology_high"], part["site_key"], part["sites"], part["excluded_sites"],
            strict=True)})
        for (_, hi, key, inc, exc), (lo2, _, key2, inc2, exc2) in zip(spans, spans[1:], strict=False):
            assert lo2 > hi or key == key2 or set(inc) == set(exc2) or set(inc2) == set(exc), recode
