"""The funding and workload figures against independent recounts (pandas over the reports as written, or over
the registry tables read whole) on a small store; suppression for administrators; researchers refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry import program_statistics as ps
from registry.errors import AccessDenied, InvalidRequest
from registry.principal import Principal
from registry.release import Release
from registry.store import read_connection
from tests.program_store import (
    ANN,
    BOB,
    CORRECTED,
    DECIDED,
    FACILITIES,
    RESOLVED,
    ProgramStore,
)

REGISTRAR = Principal("program-registrar", "registrar", frozenset())
ADMINISTRATOR = Principal("program-administrator", "administrator", frozenset())
RESEARCHER = Principal("program-researcher", "researcher", frozenset())
SITE_GROUPS = {"C504": "39", "C341": "30", "C619": "49", "C187": "20"}   # SEER site recode 2023 groups
TREATMENTS = {(True, True, True): "surgery_radiation_systemic", (True, True, False): "surgery_radiation",
              (True, False, True): "surgery_systemic", (True, False, False): "surgery_only",
              (False, True, True): "radiation_systemic", (False, True, False): "radiation_only",
              (False, False, True): "systemic_only", (False, False, False): "none"}


@pytest.fixture
def store(program_store: ProgramStore) -> ProgramStore:
    return program_store


def tumors(store: ProgramStore) -> pd.DataFrame:
    """One row per person (the registry's tumors: a person's second report is the same tumor), as written."""
    frame = store.reports.drop_duplicates("person").reset_index(drop=True)
    frame["year"] = frame["dateOfDiagnosis"].str[:4].astype(int)
    return frame


def indexed(frame: pd.DataFrame, keys: list[str], value: str = "count") -> pd.Series:
    out = frame.set_index(keys)[value]
    out.index = out.index.map(lambda key: tuple(str(k) for k in (key if isinstance(key, tuple) else (key,))))
    return out.sort_index()


def counted(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """The recount: rows per key, keys as text."""
    return indexed(frame.groupby(keys).size().rename("count").reset_index(), keys)


def test_cases_by_facility_recount(store: ProgramStore) -> None:
    table = ps.cases_by_facility(REGISTRAR, store.db).table
    reports = store.reports.assign(year=store.reports["dateOfDiagnosis"].str[:4].astype(int))
    shown = table[table["counted"] == "reports received"]
    pd.testing.assert_series_equal(indexed(shown, ["reporting_facility", "diagnosis_year"]),
                                   counted(reports, ["reportingFacility", "year"]), check_names=False,
                                   check_dtype=False)
    with read_connection(store.db) as con:
        registry_tumors = con.execute("SELECT * FROM registry_tumor").df()
    held = table[table["counted"] == "registry tumors"]
    pd.testing.assert_series_equal(indexed(held, ["reporting_facility", "diagnosis_year"]),
                                   counted(registry_tumors, ["reporting_facility", "diagnosis_year"]),
                                   check_names=False, check_dtype=False)
    assert int(held["count"].sum()) == len(tumors(store)) == 100
    release = ps.cases_by_facility(REGISTRAR, store.db, (2022, 2022))
    assert release.count("reports") == int((reports["year"] == 2022).sum())
    assert set(release.table["diagnosis_year"]) == {2022}


def test_site_groups_and_trend_recount(store: ProgramStore) -> None:
    yearly, trend = ps.site_groups_by_year(REGISTRAR, store.db)
    written = tumors(store).assign(site_recode=lambda f: f["primarySite"].map(SITE_GROUPS))
    expected = counted(written, ["site_recode", "year"])
    pd.testing.assert_series_equal(indexed(yearly.table, ["site_recode", "diagnosis_year"]), expected,
                                   check_names=False, check_dtype=False)
    assert set(yearly.table["site_group"]) == {"Breast", "Lung and Bronchus", "Prostate",
                                               "Colon and Rectum (excluding Appendix)"}
    for code, part in written.groupby("site_recode"):
        per_year = part.groupby("year").size()
        years, counts = per_year.index.to_numpy(dtype=float), per_year.to_numpy(dtype=float)
        slope = np.polyfit(years, np.log(counts), 1, w=np.sqrt(counts))[0]   # weights = counts (Poisson)
        row = trend.table.set_index("site_recode").loc[code]
        assert row["apc"] == pytest.approx(100 * np.expm1(slope), rel=1e-9)
        assert row["lower"] < row["apc"] < row["upper"]
        assert row["n_years"] == len(per_year)


def test_recurrences_treatment_payer_residency_recount(store: ProgramStore) -> None:
    written = tumors(store).assign(site_recode=lambda f: f["primarySite"].map(SITE_GROUPS))
    kinds = {"1": "local", "2": "regional", "6": "distant"}
    recurred = written["recurrenceDate1st"].notna() & ~written["recurrenceType1st"].isin(["00", "70", "88", "99"])
    written["recurrence"] = np.where(recurred, written["recurrenceType1st"].str[0].map(kinds), "no recurrence known")
    table = ps.recurrences_by_site(REGISTRAR, store.db).table
    pd.testing.assert_series_equal(indexed(table, ["site_recode", "recurrence"]),
                                   counted(written, ["site_recode", "recurrence"]), check_names=False,
                                   check_dtype=False)
    assert table.groupby("site_recode")["percent"].sum().round(9).eq(100).all()

    written["treatment_group"] = [TREATMENTS[(s == "30", r == "1", c == "01")] for s, r, c in
                                  zip(written["rxSummSurgPrimSite"], written["rxSummRadiation"], written["rxSummChemo"],
                                      strict=True)]
    table = ps.treatment_mix(REGISTRAR, store.db).table
    pd.testing.assert_series_equal(indexed(table, ["site_recode", "treatment_group"]),
                                   counted(written, ["site_recode", "treatment_group"]), check_names=False,
                                   check_dtype=False)

    given = pd.concat([written.loc[written[item] == code, ["site_recode"]].assign(modality=modality)
                       for item, code, modality in (("rxSummSurgPrimSite", "30", "surgery"),
                                                    ("rxSummRadiation", "1", "radiation"),
                                                    ("rxSummChemo", "01", "chemotherapy"))])
    table = ps.treatment_mix(REGISTRAR, store.db, by="modality").table
    pd.testing.assert_series_equal(indexed(table, ["site_recode", "modality"]), counted(given, ["site_recode", "modality"]),
                                   check_names=False, check_dtype=False)
    site_total = written.groupby("site_recode").size()
    np.testing.assert_allclose(table["percent"], 100 * table["count"] / site_total.loc[table["site_recode"]].to_numpy())
    with pytest.raises(InvalidRequest, match="modality"):
        ps.treatment_mix(REGISTRAR, store.db, by="drug")

    table = ps.payer_mix(REGISTRAR, store.db).table
    pd.testing.assert_series_equal(indexed(table, ["diagnosis_year", "payer"]),
                                   counted(written, ["year", "primaryPayerAtDx"]), check_names=False, check_dtype=False)
    medicaid = table[table["payer"] == "31"]
    assert set(medicaid["payer_label"]) == {"Medicaid"}
    year_total = written.groupby("year").size()
    expected = 100 * medicaid["count"].to_numpy() / year_total.loc[medicaid["diagnosis_year"]].to_numpy()
    np.testing.assert_allclose(medicaid["percent"].to_numpy(dtype=float), expected)

    written["residency"] = written["addrAtDxState"].map({"KS": "resident, reported in state", "ZZ": "residence unknown",
                                                         "MO": "non-resident, reported in state"})
    release = ps.residency(REGISTRAR, store.db)
    pd.testing.assert_series_equal(indexed(release.table, ["diagnosis_year", "residency"]),
                                   counted(written, ["year", "residency"]), check_names=False, check_dtype=False)
    assert "residents treated out of state cannot be counted" in str(release.provenance.method)
    assert ps.registry_state(store.db)[0] == "KS"


def test_timeliness_recount(store: ProgramStore) -> None:
    reports = store.reports.copy()
    diagnosed = pd.to_datetime(reports["dateOfDiagnosis"], format="%Y%m%d")
    received = pd.to_datetime(reports["dateCaseReportReceived"], format="%Y%m%d")
    reports["days"] = (received - diagnosed).dt.days
    reports["six"] = received <= diagnosed + pd.DateOffset(months=6)
    reports["twelve"] = received <= diagnosed + pd.DateOffset(months=12)
    expected = reports.groupby("reportingFacility").agg(count=("days", "size"), median_days=("days", "median"),
                                                       six=("six", "sum"), twelve=("twelve", "sum"))
    release = ps.timeliness(REGISTRAR, store.db)
    table = release.table.set_index("reporting_facility").sort_index()
    assert list(table.index) == list(FACILITIES)
    np.testing.assert_array_equal(table["count"], expected["count"])
    np.testing.assert_allclose(table["median_days"], expected["median_days"])
    np.testing.assert_array_equal(table["within_6_months"], expected["six"])
    np.testing.assert_array_equal(table["within_12_months"], expected["twelve"])
    np.testing.assert_allclose(table["share_6_months"], 100 * expected["six"] / expected["count"])
    assert 0 < table.loc[FACILITIES[1], "share_6_months"] < 100   # the data have both kinds
    assert release.count("without_received_date") == 0


def test_registrar_workload_recount(store: ProgramStore) -> None:
    table = ps.registrar_workload(REGISTRAR, store.db, (store.month, store.month)).table
    loaded = store.reports.groupby("file").size()
    expected = {("records loaded", ANN.user): loaded["a"], ("records loaded", BOB.user): loaded["b"],
                ("link reviews decided", ANN.user): DECIDED, ("work items resolved", BOB.user): RESOLVED,
                ("corrections made", ANN.user): CORRECTED}
    assert set(table["month"]) == {store.month}
    assert {(a, p): int(c) for a, p, c in zip(table["activity"], table["person"], table["count"], strict=True)} == expected
    assert ps.registrar_workload(REGISTRAR, store.db, ("2001-01", "2001-12")).table.empty
    with pytest.raises(InvalidRequest, match="YYYY-MM"):
        ps.registrar_workload(REGISTRAR, store.db, ("2024-13", "2024-12"))


FUNCTIONS: dict[str, Callable[[Principal, Path], Release]] = {
    "cases_by_facility": ps.cases_by_facility, "site_groups_by_year": lambda p, db: ps.site_groups_by_year(p, db)[0],
    "site_group_trend": lambda p, db: ps.site_groups_by_year(p, db)[1], "recurrences_by_site": ps.recurrences_by_site,
    "treatment_mix": ps.treatment_mix, "treatment_modalities": lambda p, db: ps.treatment_mix(p, db, by="modality"),
    "payer_mix": ps.payer_mix, "residency": ps.residency,
    "timeliness": ps.timeliness, "registrar_workload": ps.registrar_workload}
KEYS = {"cases_by_facility": ["counted", "reporting_facility", "diagnosis_year"],
        "site_groups_by_year": ["site_recode", "diagnosis_year"], "site_group_trend": ["site_recode"],
        "recurrences_by_site": ["site_recode", "recurrence"], "treatment_mix": ["site_recode", "treatment_group"],
        "treatment_modalities": ["site_recode", "modality"],
        "payer_mix": ["diagnosis_year", "payer"], "residency": ["diagnosis_year", "residency"],
        "timeliness": ["reporting_facility"], "registrar_workload": ["activity", "person", "month"]}
COUNTS = ("count", "within_6_months", "within_12_months")


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_administrators_receive_suppressed_figures(store: ProgramStore, name: str) -> None:
    """What the registrar sees in full, an administrator sees with every count of 1-15 (and what would give it
    away: percentages, medians, shares, trends) withheld; what is shown equals the registrar's value."""
    full = FUNCTIONS[name](REGISTRAR, store.db).table.set_index(KEYS[name])
    released = FUNCTIONS[name](ADMINISTRATOR, store.db).table.set_index(KEYS[name])
    assert not full.get("suppressed", pd.Series(False)).any() and released.index.equals(full.index)
    full = full.drop(columns=["suppressed"], errors="ignore")
    withheld = released["suppressed"].astype(bool)
    values = [c for c in full.columns if pd.api.types.is_numeric_dtype(full[c]) and c != "n_years"]
    assert released.loc[withheld, values].isna().all().all()
    pd.testing.assert_frame_equal(released.loc[~withheld, values].astype(float), full.loc[~withheld, values].astype(float))
    for column in (c for c in COUNTS if c in released.columns):
        assert not released[column].between(1, 15).any()
    if name == "site_group_trend":   # a trend rests on its years: withheld when any year is
        assert withheld.all()
        return
    small = pd.concat([full[c].between(1, 15) for c in COUNTS if c in full.columns], axis=1).any(axis=1)
    assert small.any() and withheld[small].all()


def test_some_figures_reach_administrators(store: ProgramStore) -> None:
    """The screen is not everything-withheld: counts of 16 or more are released to administrators."""
    work = ps.registrar_workload(ADMINISTRATOR, store.db).table
    loaded = work[work["activity"] == "records loaded"]
    assert not loaded["suppressed"].any() and loaded["count"].min() >= 16
    timely = ps.timeliness(ADMINISTRATOR, store.db).table.set_index("reporting_facility")
    assert not timely.loc[FACILITIES[0], "suppressed"] and timely.loc[FACILITIES[2], "suppressed"]
    facility = ps.cases_by_facility(ADMINISTRATOR, store.db)
    assert facility.count("reports") == len(store.reports)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_researchers_are_refused(store: ProgramStore, name: str) -> None:
    with pytest.raises(AccessDenied):
        FUNCTIONS[name](RESEARCHER, store.db)


def test_years_are_checked(store: ProgramStore) -> None:
    with pytest.raises(InvalidRequest, match="after"):
        ps.payer_mix(REGISTRAR, store.db, (2022, 2019))


def test_a_group_total_the_ledger_withholds_takes_its_percentages(store: ProgramStore,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A shown count and its percentage give the group's total away: when the ledger would withhold that total
    (it differs by 1-15 from one released before), the group's percentages go, its counts stay."""
    administrator = Principal("program-administrator-totals", "administrator", frozenset())
    before = ps.residency(administrator, store.db, (2022, 2022)).table
    assert before["percent"].notna().any()
    monkeypatch.setattr(ps, "release_count", lambda *args: None)
    after = ps.residency(administrator, store.db, (2022, 2022)).table
    assert after["percent"].isna().all()
    pd.testing.assert_series_equal(after["count"], before["count"])
