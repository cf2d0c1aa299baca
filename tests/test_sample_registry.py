"""The synthetic registry: generated, written, ingested and recomputed from the store.

One moderately sized registry is generated once for the module; incidence, stage mix, survival inputs and
defect rates are recomputed from what the loader put in the store (the truth folder only says which
report belongs to which site and person) and compared with the reference figures the generator promises.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from registry.standard_populations import standard_weights
from sample_data.config import DefectRates, SampleConfig, preset
from sample_data.generator import generate, write
from sample_data.incidence import trend_factor
from sample_data.reference import site_facts

TUMORS = 40_000


@pytest.fixture(scope="module")
def sample(sample_registry: dict[str, object]) -> dict[str, object]:
    """The session's generated and ingested registry, with its truth tables."""
    out = Path(str(sample_registry["out"]))
    return {**sample_registry,
            "truth_reports": pd.read_csv(out / "truth" / "reports.csv", dtype=str),
            "truth_tumors": pd.read_csv(out / "truth" / "tumors.csv", dtype={"fips": str}),
            "defects": pd.read_csv(out / "truth" / "defects.csv", dtype=str)}


def _store_tumors(sample: dict[str, object]) -> pd.DataFrame:
    """Every loaded tumor with its patient and file, joined to the truth report it came from."""
    with duckdb.connect(str(sample["db"]), read_only=True) as con:
        frame = con.execute("""
            SELECT b.file_name, p.patient_id_number, t.tumor_record_number, p.sex, t.age_at_diagnosis,
                   t.diagnosis_year, t.county_fips, t.behavior, t.primary_site, t.summary_stage_2018,
                   t.seer_summary_stage_2000, t.type_of_reporting_source, t.date_of_diagnosis,
                   p.date_of_birth, p.vital_status, t.date_case_report_received AS received
            FROM tumor t JOIN patient p USING (patient_id) JOIN ingest_batch b ON b.batch_id = t.batch_id
        """).df()
    out = Path(str(sample["out"]))
    frame["file"] = [str(Path(name).relative_to(out)) for name in frame["file_name"]]
    truth = sample["truth_reports"]
    assert isinstance(truth, pd.DataFrame)
    merged = frame.merge(truth, left_on=["file", "patient_id_number", "tumor_record_number"],
                         right_on=["file", "patientIdNumber", "tumorRecordNumber"], how="left", validate="1:1")
    tumors = sample["truth_tumors"]
    assert isinstance(tumors, pd.DataFrame)
    merged["tumor_index"] = merged["tumor_index"].astype(int)
    return merged.merge(tumors[["tumor_index", "site_key", "stage_group"]], on="tumor_index", how="left")


def test_every_report_is_loaded(sample: dict[str, object]) -> None:
    results = sample["results"]
    assert isinstance(results, list)
    assert all(r.status == "loaded" and r.tumors_rejected == 0 and r.patients_rejected == 0 for r in results)
    truth = sample["truth_reports"]
    assert isinstance(truth, pd.DataFrame)
    assert sum(r.tumors_loaded for r in results) == len(truth)
    store = _store_tumors(sample)
    assert store["report_id"].notna().all() and len(store) == len(truth)
    assert {"v25", "v26"} <= {name.rsplit("-", 1)[-1].split(".")[0] for name in truth["file"]}
    assert any(name.endswith("-v18.txt.gz") for name in truth["file"])


def _age_adjusted(store: pd.DataFrame, population: pd.DataFrame, site: str, sex: str, behaviors: set[str]) -> \
        tuple[float, int]:
    rows = store[(store["site_key"] == site) & (store["sex"] == sex) & store["behavior"].isin(behaviors)
                 & ~store["duplicate_report"].map({"True": True, "False": False})]
    weights = standard_weights("us2000_19")
    bins = [0, 1, *range(5, 90, 5), 200]
    groups = pd.cut(rows["age_at_diagnosis"], bins=bins, right=False, labels=list(weights.index))
    counts = groups.value_counts().reindex(weights.index, fill_value=0)
    pop = population[population["sex"] == sex].groupby("age_group")["population"].sum().reindex(weights.index)
    return float((counts / pop * weights).sum() * 100_000), int(counts.sum())


def test_age_adjusted_incidence_matches_reference(sample: dict[str, object]) -> None:
    """Per site and sex, the store's age-adjusted rate is within 10% of the USCS 2019 figure (trend applied)."""
    config = sample["config"]
    assert isinstance(config, SampleConfig)
    store = _store_tumors(sample)
    with duckdb.connect(str(sample["db"]), read_only=True) as con:
        population = con.execute("SELECT year, sex, age_group, population FROM population").df()
    facts = site_facts()
    checked = 0
    for site, row in facts.iterrows():
        for sex, column in (("1", "aair_male"), ("2", "aair_female")):
            reference = row[column]
            if pd.isna(reference):
                continue
            behaviors = {"2", "3"} if site == "urinary_bladder" else {"3"}
            rate, count = _age_adjusted(store, population, str(site), sex, behaviors)
            yearly = population[population["sex"] == sex].groupby("year")["population"].sum()
            trend = float(np.average(trend_factor(str(site), yearly.index.to_numpy()), weights=yearly.to_numpy()))
            expected = reference * trend
            # Chance variation: 3 standard errors (Poisson), since 2.5 over some 40 site-sex checks fails about
            # one registry in three by chance alone (3: about one in ten).
            poisson = 3.0 * expected / np.sqrt(max(count, 1))
            assert abs(rate - expected) <= max(0.10 * expected, poisson), (site, sex, rate, expected, count)
            checked += 1
    assert checked >= 30


def test_stage_mix_matches_reference(sample: dict[str, object]) -> None:
    """Summary stage from the store's codes agrees with the site's stage mix within 5 points."""
    store = _store_tumors(sample)
    store = store[store["duplicate_report"] == "False"]
    code = store["summary_stage_2018"].fillna(store["seer_summary_stage_2000"])
    group = code.map({"0": "insitu", "1": "localized", "2": "regional", "3": "regional", "4": "regional",
                      "5": "regional", "7": "distant", "9": "unknown"})
    store = store.assign(group=group)
    facts = site_facts()
    for site in ("lung_bronchus", "colon_rectum", "prostate", "breast", "urinary_bladder"):
        rows = store[(store["site_key"] == site) & (store["behavior"].isin({"2", "3"}))]
        if site == "breast":
            rows = rows[rows["behavior"] == "3"]
        shares = rows["group"].value_counts(normalize=True) * 100
        for group_name in ("localized", "regional", "distant"):
            expected = facts.loc[site, f"stage_{group_name}_pct"]
            if site == "breast":
                expected = expected   # breast in situ tumors are extra, invasive mix is the reference mix
            assert abs(shares.get(group_name, 0.0) - expected) <= 5.0, (site, group_name, shares.to_dict())


def test_defect_rates_as_configured(sample: dict[str, object]) -> None:
    """Each injected defect kind occurs at its configured rate, and the store holds the injected values."""
    config = sample["config"]
    assert isinstance(config, SampleConfig)
    rates = config.defects
    truth = sample["truth_reports"]
    defects = sample["defects"]
    assert isinstance(truth, pd.DataFrame) and isinstance(defects, pd.DataFrame)
    reports = len(truth)
    duplicates = int((truth["duplicate_report"] == "True").sum())
    primaries = reports - duplicates
    _within(duplicates / primaries, rates.duplicate_report, primaries)
    for kind, rate in (("invalid-code", rates.invalid_code), ("missing-item", rates.missing_item),
                       ("impossible-sex-site", None), ("date", rates.date_out_of_order)):
        if rate is None:
            continue
        count = int(defects["defect"].str.contains(kind).sum()) if kind == "date" else \
            int((defects["defect"] == kind).sum())
        if kind == "date":
            count = int(defects["defect"].isin(["birth-after-diagnosis", "treatment-before-diagnosis",
                                                "last-contact-before-diagnosis"]).sum())
        _within(count / reports, rate, reports)
    impossible = int(defects["defect"].str.startswith("impossible").sum())
    _within(impossible / reports, rates.impossible_combination, reports)
    nicknames = int((defects["defect"] == "nickname").sum())
    assert 0 < nicknames <= duplicates * rates.nickname * 2

    store = _store_tumors(sample).set_index("report_id")
    site_defects = defects[(defects["item"] == "primarySite") & (defects["defect"] == "invalid-code")]
    assert len(site_defects) > 0
    for report_id, injected in zip(site_defects["report_id"], site_defects["injected"], strict=True):
        assert store.loc[report_id, "primary_site"] == injected
    sex_site = defects[defects["defect"] == "impossible-sex-site"]
    for report_id, injected in zip(sex_site["report_id"], sex_site["injected"], strict=True):
        assert store.loc[report_id, "sex"] == injected


def _within(observed: float, rate: float, n: int) -> None:
    """Observed share is the configured rate within four binomial standard errors."""
    tolerance = 4 * np.sqrt(rate * (1 - rate) / n) + 1e-9
    assert abs(observed - rate) <= tolerance, (observed, rate, n)


def test_ages_above_85_fall_steeply(sample: dict[str, object]) -> None:
    """Within the SEER group 85+, ages follow a real old-age population: most patients are 85-89, fewer at
    every later age, about 1 in 10 is 95 or older, very few 100 or older, nobody past the life table."""
    tumors = sample["truth_tumors"]
    assert isinstance(tumors, pd.DataFrame)
    oldest = tumors.loc[tumors["age"] >= 85, "age"]
    assert len(oldest) > 1_000
    groups = pd.cut(oldest, [85, 90, 95, 100, 105, 110], right=False).value_counts(sort=False).to_numpy()
    assert 0.50 <= (oldest < 90).mean() <= 0.70
    assert 0.05 <= (oldest >= 95).mean() <= 0.15
    assert (oldest >= 100).mean() <= 0.03
    assert oldest.max() <= 109
    assert (np.diff(groups) < 0).all()
    assert (oldest == 99).sum() < (oldest == 95).sum() / 2   # no pile-up at the oldest ages


def test_registry_shape(sample: dict[str, object]) -> None:
    """Death-certificate-only share, multiple primaries, follow-up and the population file look right."""
    tumors = sample["truth_tumors"]
    assert isinstance(tumors, pd.DataFrame)
    dco = tumors["dco"].mean()
    assert 0.008 <= dco <= 0.02
    per_person = tumors.groupby("person_id").size()
    assert 0.04 <= (per_person > 1).mean() <= 0.10
    store = _store_tumors(sample)
    assert set(store["type_of_reporting_source"].dropna()) >= {"1", "7"}
    assert store["county_fips"].str.startswith("20").mean() > 0.95   # Kansas, FIPS 20
    with duckdb.connect(str(sample["db"]), read_only=True) as con:
        counties = con.execute("SELECT count(DISTINCT fips) FROM population").fetchall()[0][0]
        dead = con.execute("SELECT avg((vital_status = '0')::INT) FROM patient").fetchall()[0][0]
    assert counties == 105
    assert 0.2 < dead < 0.6


def test_every_report_carries_the_date_it_was_received(sample: dict[str, object]) -> None:
    """Every report (flat and XML) loads with its received date, as the truth says; the lag from diagnosis
    (from death for a death certificate) is mostly under six months with a tail past one and two years, and
    no report is received after the follow-up cut-off."""
    store = _store_tumors(sample)
    assert store["received"].notna().all()
    assert (store["received"].dt.strftime("%Y-%m-%d") == store["date_case_report_received"]).all()
    truth = sample["truth_reports"]
    tumors = sample["truth_tumors"]
    persons = pd.read_csv(Path(str(sample["out"])) / "truth" / "persons.csv", dtype={"person_id": str})
    assert isinstance(truth, pd.DataFrame) and isinstance(tumors, pd.DataFrame)
    received = pd.to_datetime(truth["date_case_report_received"])
    diagnosed = pd.to_datetime(tumors["diagnosis_date"].to_numpy()[truth["tumor_index"].astype(int)])
    lag = (received - diagnosed).dt.days.to_numpy()
    assert (lag >= 1).all()
    assert 0.65 <= (lag <= 183).mean() <= 0.85
    assert 0.03 <= (lag > 365).mean() <= 0.12
    assert 0.005 <= (lag > 700).mean() <= 0.03
    config = sample["config"]
    assert isinstance(config, SampleConfig)
    assert received.max() <= pd.Timestamp(config.follow_up_cutoff)
    dco = truth["death_certificate_only"] == "True"
    last_contact = persons.set_index("person_id")["date_of_last_contact"]
    death = pd.to_datetime(last_contact.loc[truth.loc[dco, "person_id"]])
    assert dco.sum() > 0 and (received[dco].to_numpy() > death.to_numpy()).all()


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    config = preset("tiny", tumors=600, seed=11)
    first = write(generate(config), tmp_path / "a")
    second = write(generate(config), tmp_path / "b")
    assert first.files == second.files
    other = write(generate(replace(config, seed=12)), tmp_path / "c")
    assert other.files != first.files
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["seed"] == 11 and manifest["counts"]["tumors"] > 0


def test_clean_registry_has_no_defects(tmp_path: Path) -> None:
    config = preset("tiny", tumors=600, seed=3, defects=DefectRates().scaled(0))
    registry = generate(config)
    assert registry.defects.empty
    assert not registry.reports["_duplicate"].any()


SURVIVAL_SITES = {"breast": ("39",), "prostate": ("49",), "lung_bronchus": ("30",), "colon_rectum": ("20",),
                  "melanoma_skin": ("37",), "pancreas": ("28",), "corpus_uterus": ("43",),
                  "urinary_bladder": ("55",), "kidney_renal_pelvis": ("52", "53")}


def test_five_year_relative_survival_matches_reference(sample: dict[str, object]) -> None:
    """Ederer II 5-year relative survival by site and stage, from the store, within 5 points of the reference."""
    from registry.cohort import TumorFilter, _survival_data
    from registry.ratetables import DAYS_PER_YEAR, us_life_table
    from registry.stats import StatisticalWarning, relative_survival

    db = Path(str(sample["db"]))
    facts = site_facts()
    table = us_life_table()
    checked = 0
    for site, codes in SURVIVAL_SITES.items():
        for stage in ("localized", "regional", "distant"):
            data = _survival_data(db, TumorFilter(site_recodes=codes, stage_groups=(stage,), first_year=2014,
                                                 last_year=2019))
            if len(data) < 400:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", StatisticalWarning)
                result = relative_survival(data, table, method="ederer2", times=[5 * DAYS_PER_YEAR])
            estimate, std_err = float(result["estimate"].iloc[0]), float(result["std_err"].iloc[0])
            expected = facts.loc[site, f"rs5_{stage}_pct"] / 100
            tolerance = max(0.05, 2.5 * std_err)
            assert abs(estimate - expected) <= tolerance, (site, stage, estimate, expected, len(data))
            checked += 1
    assert checked >= 10
