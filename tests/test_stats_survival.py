"""Observed survival (Kaplan-Meier, actuarial, cause-specific, conditional) against R survival 3.5.3.

Reference values: tests/reference/survival/*.csv, produced by make_reference.R there (the R calls are
recorded in each file's '#' header lines).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry.stats.result import provenance
from registry.stats.survival import (
    StatisticalWarning,
    actuarial_survival,
    cause_specific_survival,
    conditional_survival,
    kaplan_meier,
    median_survival,
)

REF = Path(__file__).parent / "reference" / "survival"
lifelines_datasets = pytest.importorskip("lifelines.datasets")


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name, comment="#")


def _datasets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    waltons = lifelines_datasets.load_waltons()
    rossi = lifelines_datasets.load_rossi()
    sets = {"waltons": (waltons["T"].to_numpy(), waltons["E"].to_numpy()),
            "rossi": (rossi["week"].to_numpy(), rossi["arrest"].to_numpy())}
    cohorts = _read("km_cohorts.csv")
    for name, grp in cohorts.groupby("cohort"):
        sets[str(name)] = (grp["time"].to_numpy(), grp["event"].to_numpy())
    return sets


DATASETS = _datasets()
KM_REF = _read("km_survfit.csv")
KM_TIMES = _read("km_summary_times.csv")
KM_MEDIANS = _read("km_medians.csv")
CASES = sorted({(d, c) for d, c in zip(KM_REF["dataset"], KM_REF["conf_type"], strict=True)})


def _close(ours: pd.Series | np.ndarray, ref: pd.Series | np.ndarray, rtol: float) -> None:
    a = np.asarray(ours, dtype=float)
    b = np.asarray(ref, dtype=float)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(b)
    np.testing.assert_allclose(a[ok], b[ok], rtol=rtol, atol=1e-12)


@pytest.mark.parametrize(("dataset", "conf_type"), CASES)
def test_kaplan_meier_matches_survfit(dataset: str, conf_type: str) -> None:
    ref = KM_REF[(KM_REF["dataset"] == dataset) & (KM_REF["conf_type"] == conf_type)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        km = kaplan_meier(*DATASETS[dataset], conf_type=conf_type)
    np.testing.assert_array_equal(km["time"], ref["time"])
    np.testing.assert_array_equal(km["at_risk"], ref["n_risk"])
    np.testing.assert_array_equal(km["events"], ref["n_event"])
    np.testing.assert_array_equal(km["censored"], ref["n_censor"])
    _close(km["survival"], ref["surv"], 1e-6)
    _close(km["std_err"], ref["std_err_surv"], 1e-6)
    _close(km["std_err_cumhaz"].replace(np.inf, np.nan), ref["std_err_cumhaz"].replace(np.inf, np.nan), 1e-6)
    _close(km["lower"], ref["lower"], 1e-4)
    _close(km["upper"], ref["upper"], 1e-4)


@pytest.mark.parametrize(("dataset", "conf_type"), CASES)
def test_median_matches_survfit_quantile(dataset: str, conf_type: str) -> None:
    ref = KM_MEDIANS[(KM_MEDIANS["dataset"] == dataset) & (KM_MEDIANS["conf_type"] == conf_type)].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        med = median_survival(kaplan_meier(*DATASETS[dataset], conf_type=conf_type))
    _close(med[["median", "lower", "upper"]].to_numpy(), ref[["median", "lower", "upper"]].to_numpy(dtype=float), 1e-9)


def test_median_on_flat_half_is_midpoint() -> None:
    # ten deaths at 1..10: S = 0.5 on [5, 6) -> survfit reports (5 + 6) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        med = median_survival(kaplan_meier(np.arange(1.0, 11.0), np.ones(10)))
    assert med["median"] == 5.5


@pytest.mark.parametrize(("dataset", "conf_type"), CASES)
def test_kaplan_meier_times_match_summary(dataset: str, conf_type: str) -> None:
    ref = KM_TIMES[(KM_TIMES["dataset"] == dataset) & (KM_TIMES["conf_type"] == conf_type)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        km = kaplan_meier(*DATASETS[dataset], conf_type=conf_type, times=ref["time"].to_numpy())
    np.testing.assert_array_equal(km["at_risk"], ref["n_risk"])
    np.testing.assert_array_equal(km["events"], ref["n_event"])
    np.testing.assert_array_equal(km["censored"], ref["n_censor"])
    _close(km["survival"], ref["surv"], 1e-6)
    _close(km["std_err"], ref["std_err"], 1e-6)
    _close(km["lower"], ref["lower"], 1e-4)
    _close(km["upper"], ref["upper"], 1e-4)


def test_kaplan_meier_agrees_with_lifelines() -> None:
    fitters = pytest.importorskip("lifelines")
    time, event = DATASETS["waltons"]
    kmf = fitters.KaplanMeierFitter().fit(time, event)
    ours = kaplan_meier(time, event).set_index("time")
    theirs = kmf.survival_function_["KM_estimate"]
    theirs = theirs[theirs.index > 0]
    np.testing.assert_allclose(ours.loc[theirs.index, "survival"], theirs.to_numpy(), rtol=1e-12)
    ci = kmf.confidence_interval_survival_function_
    ci = ci[ci.index.isin(ours.index[(ours["survival"] > 0) & (ours["survival"] < 1)])]
    np.testing.assert_allclose(ours.loc[ci.index, "lower"], ci.iloc[:, 0], rtol=1e-9)
    np.testing.assert_allclose(ours.loc[ci.index, "upper"], ci.iloc[:, 1], rtol=1e-9)


def test_kaplan_meier_provenance() -> None:
    time, event = DATASETS["waltons"]
    km = kaplan_meier(time, event, alpha=0.1)
    prov = provenance(km)
    assert "Kaplan-Meier" in prov["method"] and "Greenwood" in prov["method"]
    assert prov["alpha"] == 0.1
    assert prov["parameters"]["conf_type"] == "log-log"
    assert list(km.columns[:6]) == ["time", "survival", "std_err", "lower", "upper", "at_risk"]


def test_kaplan_meier_input_errors() -> None:
    with pytest.raises(ValueError, match=r"'time' has negative values \[-3\]"):
        kaplan_meier([1.0, -3.0, 2.0], [1, 0, 1])
    with pytest.raises(ValueError, match=r"'event' must be 0 .* found \[2\]"):
        kaplan_meier([1.0, 3.0], [1, 2])
    with pytest.raises(ValueError, match="'time' has missing"):
        kaplan_meier([1.0, np.nan], [1, 0])
    with pytest.raises(ValueError, match="differ in length"):
        kaplan_meier([1.0, 2.0], [1])
    with pytest.raises(ValueError, match="conf_type"):
        kaplan_meier([1.0, 2.0], [1, 0], conf_type="arcsin")
    with pytest.raises(ValueError, match="ascending"):
        kaplan_meier([1.0, 2.0], [1, 0], times=[2.0, 1.0])


def test_small_numbers_warn() -> None:
    time, event = DATASETS["waltons"]
    with pytest.warns(StatisticalWarning, match="fewer than 10 at risk"):
        kaplan_meier(time, event, times=[10.0, 70.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        kaplan_meier(time, event, times=[10.0, 30.0])
        kaplan_meier(time, event)
    with pytest.warns(StatisticalWarning, match="only 3 subjects"):
        kaplan_meier([1.0, 2.0, 3.0], [1, 1, 0])


def test_median_needs_full_curve() -> None:
    time, event = DATASETS["waltons"]
    with pytest.raises(ValueError, match="full curve"):
        median_survival(kaplan_meier(time, event, times=[10.0, 20.0]))


# ---- actuarial ---------------------------------------------------------------------------------------


def _life_table_by_hand(months: np.ndarray, event: np.ndarray, width: int) -> pd.DataFrame:
    """Plain-loop Cutler-Ederer life table (independent of the implementation under test)."""
    rows, alive, cum, gw = [], float(len(months)), 1.0, 0.0
    for k in range(int(months.max()) // width + 1):
        in_k = (months // width) == k
        d = float(event[in_k].sum())
        w = float(in_k.sum() - d)
        eff = alive - w / 2
        p = 1 - d / eff
        cum *= p
        if d > 0:
            gw = gw + d / (eff * (eff - d)) if eff > d else float("inf")
        rows.append({"at_start": alive, "events": d, "withdrawn": w, "effective_at_risk": eff,
                     "interval_survival": p, "survival": cum,
                     "std_err": cum * np.sqrt(gw) if cum > 0 else float("nan")})
        alive -= d + w
    return pd.DataFrame(rows)


@pytest.mark.parametrize("width", [1, 3, 12])
def test_actuarial_matches_life_table_formulas(width: int) -> None:
    rng = np.random.default_rng(3)
    months = rng.integers(0, 60, 400)
    event = (rng.random(400) < 0.5).astype(int)
    keep = ~((months == 0) & (event == 0))
    expected = _life_table_by_hand(months[keep], event[keep], width)
    got = actuarial_survival(months, event, interval_months=width)
    assert got.attrs["parameters"]["dropped_zero_alive"] == int((~keep).sum())
    for col in expected.columns:
        np.testing.assert_allclose(got[col].to_numpy(dtype=float), expected[col].to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(got["time"], (np.arange(len(got)) + 1) * width)


def test_actuarial_small_example_by_hand() -> None:
    # 10 cases; month 0: 1 death (+1 alive at 0 months, dropped); month 1: 2 deaths, 2 withdrawals
    months = np.array([0, 0, 1, 1, 1, 1, 2, 2, 3, 4, 5])
    event = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1])
    lt = actuarial_survival(months, event, conf_type="plain")
    first, second = lt.iloc[0], lt.iloc[1]
    assert (first["at_start"], first["events"], first["withdrawn"]) == (10, 1, 0)
    assert first["survival"] == pytest.approx(0.9)
    assert (second["at_start"], second["events"], second["withdrawn"]) == (9, 2, 2)
    assert second["effective_at_risk"] == 8
    assert second["interval_survival"] == pytest.approx(0.75)
    assert second["survival"] == pytest.approx(0.675)
    gw = 1 / (10 * 9) + 2 / (8 * 6)
    assert second["std_err"] == pytest.approx(0.675 * np.sqrt(gw))
    assert second["lower"] == pytest.approx(0.675 - 1.959963984540054 * 0.675 * np.sqrt(gw))


def test_actuarial_summary_rows_and_warning() -> None:
    months = np.arange(0, 40)
    event = np.ones(40, dtype=int)
    with pytest.warns(StatisticalWarning):
        lt = actuarial_survival(months, event, times_months=[12, 36])
    assert list(lt["time"]) == [12, 36]
    with pytest.raises(ValueError, match="times_months"):
        actuarial_survival(months, event, interval_months=12, times_months=[6])


# ---- cause-specific and conditional ------------------------------------------------------------------


def test_cause_specific_is_km_with_other_deaths_censored() -> None:
    rng = np.random.default_rng(5)
    time = rng.integers(1, 100, 300).astype(float)
    cause = rng.integers(0, 3, 300)            # 0 alive, 1 cancer death, 2 other death
    cs = cause_specific_survival(time, (cause == 1).astype(int))
    km = kaplan_meier(time, (cause == 1).astype(int))
    pd.testing.assert_frame_equal(cs, km, check_like=False)
    assert "other causes of death censored" in cs.attrs["method"]
    assert cs.attrs["parameters"]["measure"] == "cause-specific"
    act = cause_specific_survival(time, (cause == 1).astype(int), method="actuarial")
    assert act.attrs["parameters"]["estimator"] == "actuarial"
    with pytest.raises(ValueError, match="method"):
        cause_specific_survival(time, cause == 1, method="aalen")


def test_conditional_km_equals_km_of_survivors() -> None:
    time, event = DATASETS["waltons"]
    given = 30.0
    km = kaplan_meier(time, event)
    cond = conditional_survival(km, given_years=given, time_unit="years")
    survivors = time > given
    direct = kaplan_meier(time[survivors], event[survivors]).set_index("time")
    c = cond.set_index("time").loc[direct.index]
    np.testing.assert_allclose(c["survival"], direct["survival"], rtol=1e-12)
    ok = direct["survival"] > 0
    np.testing.assert_allclose(c.loc[ok, "std_err"], direct.loc[ok, "std_err"], rtol=1e-9)
    np.testing.assert_allclose(c.loc[ok, "lower"], direct.loc[ok, "lower"], rtol=1e-9)
    assert (cond["time_since_given"] >= 0).all()
    assert cond.attrs["parameters"]["given_time"] == 30.0


def test_conditional_needs_time_unit_and_positive_survival() -> None:
    time, event = DATASETS["waltons"]
    km = kaplan_meier(time, event)
    with pytest.raises(ValueError, match="time unit"):
        conditional_survival(km, 1)
    with pytest.raises(ValueError, match="beyond the last time"):
        conditional_survival(km, 100, time_unit="years")
    lt = actuarial_survival(np.arange(0, 40), np.ones(40, dtype=int))
    cond = conditional_survival(lt, 1)       # months frame: g = 12 months
    assert cond["time"].iloc[0] == 12
    assert cond["survival"].iloc[0] == pytest.approx(1.0)


def test_kaplan_meier_with_frequency_counts_equals_expanded_rows() -> None:
    rng = np.random.default_rng(5)
    time = rng.integers(0, 40, 400).astype(float)
    event = (rng.random(400) < 0.6).astype(int)
    frame = pd.DataFrame({"time": time, "event": event}).value_counts().reset_index(name="n")
    expected = kaplan_meier(time, event)
    aggregated = kaplan_meier(frame["time"], frame["event"], counts=frame["n"])
    for column in ("time", "survival", "std_err", "lower", "upper", "at_risk", "events", "censored"):
        np.testing.assert_allclose(aggregated[column], expected[column], rtol=1e-12)
    with pytest.raises(ValueError, match="counts"):
        kaplan_meier([1.0, 2.0], [1, 0], counts=[1, -1])
